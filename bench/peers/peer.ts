/**
 * Peers run in child processes and speak one JSON object per line: a hello
 * first ({ ready, info } or { ready: false, reason }), then one reply per
 * request { id, impl, spec, cfg, threads } → { id, perCallMs, callsPerSample }
 * or { id, skip }. A child per library keeps their memory, threads and
 * globals apart from nabla's and from each other's; requests are
 * interleaved with nabla's own runs case by case.
 *
 * The peers: PyTorch (torch_bench.py under Debian's /usr/bin/python3),
 * TensorFlow.js cpu and wasm (tfjs_bench.ts), onnxruntime-node
 * (ort_bench.ts, matmul only). One that cannot start is skipped with its
 * reason in one line.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchCase, Impl, Skip, Timing, TimingConfig } from '../harness.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Reply {
  id: number;
  perCallMs?: number[];
  callsPerSample?: number;
  values?: number[];
  skip?: string;
}

/** A small product to compute (operands in their stored orientation, row-major, flattened). */
export interface ProductCheck {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  a: number[];
  b: number[];
}

export class PeerProcess {
  readonly name: string;
  readonly info: Record<string, unknown>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private stderrTail = '';
  private exited = false;

  private constructor(name: string, child: ChildProcessWithoutNullStreams, info: Record<string, unknown>, lines: AsyncIterator<string>) {
    this.name = name;
    this.child = child;
    this.info = info;
    child.stderr.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    child.on('exit', (code) => {
      this.exited = true;
      for (const [id, resolve] of this.pending) resolve({ id, skip: `${name} exited (code ${code}): ${this.lastError()}` });
      this.pending.clear();
    });
    void (async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) return;
        let reply: Reply;
        try {
          reply = JSON.parse(r.value) as Reply;
        } catch {
          continue; // a library printing to stdout: not ours
        }
        this.pending.get(reply.id)?.(reply);
        this.pending.delete(reply.id);
      }
    })();
  }

  private lastError(): string {
    return this.stderrTail.trim().split('\n').slice(-3).join(' | ');
  }

  /** Start a peer; resolves to the process, or to the reason it is unavailable. */
  static start(name: string, cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<PeerProcess | Skip> {
    return new Promise((resolve) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (e) {
        resolve({ skip: `${name}: cannot start ${cmd}: ${(e as Error).message}` });
        return;
      }
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const timer = setTimeout(() => {
        child.kill();
        resolve({ skip: `${name}: no hello within ${timeoutMs / 1000} s` });
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ skip: `${name}: cannot start ${cmd}: ${e.message}` });
      });
      void (async () => {
        for (;;) {
          const r = await lines.next();
          if (r.done) {
            clearTimeout(timer);
            resolve({ skip: `${name}: exited before saying hello: ${err.trim().split('\n').slice(-2).join(' | ')}` });
            return;
          }
          let hello: { ready?: boolean; info?: Record<string, unknown>; reason?: string };
          try {
            hello = JSON.parse(r.value) as typeof hello;
          } catch {
            continue;
          }
          clearTimeout(timer);
          if (!hello.ready) {
            child.kill();
            resolve({ skip: `${name}: ${hello.reason ?? 'not ready'}` });
          } else resolve(new PeerProcess(name, child, hello.info ?? {}, lines));
          return;
        }
      })();
    });
  }

  /** Send any request (its id is added) and wait for the reply. */
  send(msg: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.resolve({ id: 0, skip: `${this.name} is not running: ${this.lastError()}` });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ id, ...msg })}\n`);
    });
  }

  /** Time one case. */
  async request(impl: string, spec: Record<string, unknown>, cfg: TimingConfig, threads: number): Promise<Timing | Skip> {
    const r = await this.send({ impl, spec, cfg, threads });
    return r.skip !== undefined ? { skip: r.skip } : { perCallMs: r.perCallMs ?? [], callsPerSample: r.callsPerSample ?? 1 };
  }

  /** Compute a small product (tests check that a peer times the op it claims to). */
  async check(impl: string, check: ProductCheck): Promise<number[] | Skip> {
    const r = await this.send({ impl, check });
    return r.skip !== undefined ? { skip: r.skip } : (r.values ?? []);
  }

  close(): void {
    if (!this.exited) this.child.stdin.end();
    setTimeout(() => this.exited || this.child.kill(), 2000).unref();
  }
}

/** An implementation served by a peer process. */
export function peerImpl(proc: PeerProcess, impl: string, threads: number): Impl {
  return { name: impl, run: (c: BenchCase, cfg: TimingConfig) => proc.request(impl, c.spec, cfg, threads) };
}

export type PeerName = 'torch' | 'tfjs' | 'onnxruntime';
export const PEER_NAMES: readonly PeerName[] = ['torch', 'tfjs', 'onnxruntime'];

/** The Python with PyTorch: NABLA_BENCH_PYTHON, else Debian's /usr/bin/python3 (the python3 first on PATH may lack torch). */
export function pythonPath(): string {
  return process.env.NABLA_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Start one peer by name. */
export function startPeer(name: PeerName): Promise<PeerProcess | Skip> {
  const node = (file: string): [string, string[]] => [process.execPath, ['--import', 'tsx', join(here, file)]];
  switch (name) {
    case 'torch':
      return PeerProcess.start('torch', pythonPath(), [join(here, 'torch_bench.py')]);
    case 'tfjs':
      return PeerProcess.start('tfjs', ...node('tfjs_bench.ts'));
    case 'onnxruntime':
      return PeerProcess.start('onnxruntime', ...node('ort_bench.ts'));
  }
}

/** The implementations each peer serves (a peer's hello may list fewer, e.g. tfjs without its wasm backend). */
export function peerImpls(name: PeerName, proc: PeerProcess, threads: number): Impl[] {
  const names = (proc.info.impls as string[] | undefined) ?? [name];
  return names.map((n) => peerImpl(proc, n, threads));
}
