/**
 * TensorFlow.js peer (a child process; protocol in peer.ts): the `cpu`
 * backend (plain JavaScript kernels) and the `wasm` backend (XNNPACK, one
 * thread under Node). Both run eagerly and synchronously, so a timed call is
 * the op itself; its output is disposed each call.
 *
 * Ops TensorFlow.js lacks are written as a user would: GELU (tanh form) and
 * layer norm from moments. Requests for the `gpt` family build the model of
 * tfjs_gpt.ts.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { measure, type Skip, type Timing } from '../harness.js';
import { serve, type CheckRequest, type Hello, type Request } from './serve.js';
import { gelu, layerNorm, tfjsGptStep } from './tfjs_gpt.js';

type Run = () => void;

function sgemm(spec: Record<string, unknown>): Run {
  const [m, n, k, batch] = [spec.m, spec.n, spec.k, spec.batch ?? 1] as number[];
  const [ta, tb] = [Boolean(spec.transA), Boolean(spec.transB)];
  const lead = batch > 1 ? [batch] : [];
  const a = tf.randomNormal([...lead, ...(ta ? [k, m] : [m, k])]);
  const b = tf.randomNormal([...lead, ...(tb ? [n, k] : [k, n])]);
  return () => tf.matMul(a, b, ta, tb).dispose();
}

function elementwise(spec: Record<string, unknown>): Run | undefined {
  const shape = spec.shape as number[];
  const x = tf.randomNormal(shape);
  const d = shape[shape.length - 1]!;
  switch (spec.op) {
    case 'add': {
      const y = tf.randomNormal(shape);
      return () => tf.add(x, y).dispose();
    }
    case 'mul': {
      const y = tf.randomNormal(shape);
      return () => tf.mul(x, y).dispose();
    }
    case 'exp':
      return () => tf.exp(x).dispose();
    case 'gelu':
      return () => gelu(x).dispose();
    case 'sum':
      return () => tf.sum(x, -1).dispose();
    case 'softmax':
      return () => tf.softmax(x, -1).dispose();
    case 'layernorm': {
      const w = tf.randomNormal([d]);
      const b = tf.randomNormal([d]);
      return () => layerNorm(x, w, b).dispose();
    }
    default:
      return undefined;
  }
}

async function handle(req: Request): Promise<Timing | Skip> {
  const backend = req.impl === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  const family = req.spec.family as string;
  let run: Run | undefined;
  let cleanup: (() => void) | undefined;
  if (family === 'sgemm' || family === 'threads') run = sgemm(req.spec);
  else if (family === 'elementwise') run = elementwise(req.spec);
  else if (family === 'gpt') ({ run, cleanup } = tfjsGptStep(req.spec));
  if (!run) return { skip: `no TensorFlow.js version of ${family} ${String(req.spec.op ?? '')}`.trim() };
  try {
    return measure(run, req.cfg);
  } finally {
    cleanup?.();
    // dispose the case's inputs (variables are the cleanup's job)
    tf.engine().endScope();
    tf.engine().startScope();
  }
}

async function check(req: CheckRequest): Promise<{ values: number[] }> {
  await tf.setBackend(req.impl === 'tfjs-wasm' ? 'wasm' : 'cpu');
  const { m, n, k, transA, transB, batch, a, b } = req.check;
  const lead = batch > 1 ? [batch] : [];
  const y = tf.tidy(() => tf.matMul(tf.tensor(a, [...lead, ...(transA ? [k, m] : [m, k])]), tf.tensor(b, [...lead, ...(transB ? [n, k] : [k, n])]), transA, transB));
  const values = Array.from(y.dataSync());
  y.dispose();
  return { values };
}

async function hello(): Promise<Hello> {
  const impls = ['tfjs-cpu'];
  const info: Record<string, unknown> = { tfjs: tf.version.tfjs };
  try {
    if (await tf.setBackend('wasm')) {
      impls.unshift('tfjs-wasm');
      info.wasm = 'XNNPACK, 1 thread (Node)';
    }
  } catch (e) {
    info.wasm = `unavailable: ${(e as Error).message}`;
  }
  await tf.setBackend('cpu');
  return { ready: true, info: { ...info, impls } };
}

tf.engine().startScope();
await serve(await hello(), handle, check);
