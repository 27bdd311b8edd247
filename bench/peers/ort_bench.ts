/**
 * onnxruntime-node peer (a child process; protocol in peer.ts), for the
 * matmul families only: a one-node ONNX graph per case (Gemm with transA /
 * transB for plain products, MatMul for batches), `intraOpNumThreads` set to
 * the harness's thread count. `session.run` is asynchronous, so calls are
 * timed with the awaiting form of the harness's rule.
 *
 * onnxruntime-node is not a dependency of nabla: `npm run bench:peers`
 * installs it under ~/.cache/nabla/bench-peers (NABLA_PEERS_DIR), where its
 * install script, which downloads extra files, is skipped. It is also found
 * in the project's node_modules.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { measureAsync, type Skip, type Timing } from '../harness.js';
import { oneNodeModel } from './onnx.js';
import { serve, type CheckRequest, type Hello, type Request } from './serve.js';

interface OrtTensor {
  readonly data?: ArrayLike<number>;
  dispose?(): void;
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(model: Uint8Array, opts: Record<string, unknown>): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }>;
  };
  env: { versions?: { node?: string; common?: string } };
}

export function peersDir(): string {
  return process.env.NABLA_PEERS_DIR ?? join(homedir(), '.cache', 'nabla', 'bench-peers');
}

function loadOrt(): Ort | string {
  const tried: string[] = [];
  for (const from of [import.meta.url, join(peersDir(), 'package.json')]) {
    try {
      return createRequire(from)('onnxruntime-node') as Ort;
    } catch (e) {
      tried.push((e as Error).message.split('\n')[0]!);
    }
  }
  return `onnxruntime-node is not installed (npm run bench:peers installs it): ${tried.at(-1)}`;
}

const ort = loadOrt();

function random(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

/** The one-node session of a product, with its operand shapes; a string says why it cannot be built. */
async function product(s: Record<string, unknown>, threads: number): Promise<{ session: Session; aShape: number[]; bShape: number[] } | string> {
  const [m, n, k, batch] = [s.m, s.n, s.k, s.batch ?? 1] as number[];
  const [ta, tb] = [Boolean(s.transA), Boolean(s.transB)];
  if (batch > 1 && (ta || tb)) return 'ONNX MatMul has no transpose flags (batched transposes not measured)';
  const lead = batch > 1 ? [batch] : [];
  const aShape = [...lead, ...(ta ? [k, m] : [m, k])];
  const bShape = [...lead, ...(tb ? [n, k] : [k, n])];
  const model = batch > 1 ? oneNodeModel('MatMul', aShape, bShape, [batch, m, n]) : oneNodeModel('Gemm', aShape, bShape, [m, n], { transA: ta ? 1 : 0, transB: tb ? 1 : 0 });
  const session = await (ort as Ort).InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  return { session, aShape, bShape };
}

const count = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

async function check(req: CheckRequest): Promise<{ values: number[] } | Skip> {
  const o = ort as Ort;
  const p = await product(req.check, 1);
  if (typeof p === 'string') return { skip: p };
  try {
    const out = await p.session.run({ A: new o.Tensor('float32', Float32Array.from(req.check.a), p.aShape), B: new o.Tensor('float32', Float32Array.from(req.check.b), p.bShape) });
    return { values: Array.from(out.Y!.data ?? []) };
  } finally {
    await p.session.release();
  }
}

async function handle(req: Request): Promise<Timing | Skip> {
  const o = ort as Ort;
  const s = req.spec;
  if (s.family !== 'sgemm' && s.family !== 'threads') return { skip: 'onnxruntime is measured on matmul only' };
  const p = await product(s, Number(s.threads ?? req.threads));
  if (typeof p === 'string') return { skip: p };
  const { session, aShape, bShape } = p;
  const feeds = { A: new o.Tensor('float32', random(count(aShape)), aShape), B: new o.Tensor('float32', random(count(bShape)), bShape) };
  try {
    return await measureAsync(async () => {
      const out = await session.run(feeds);
      out.Y?.dispose?.();
    }, req.cfg);
  } finally {
    await session.release();
  }
}

function hello(): Hello {
  if (typeof ort === 'string') return { ready: false, reason: ort };
  return { ready: true, info: { onnxruntime: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown', impls: ['onnxruntime'] } };
}

await serve(hello(), handle, check);
