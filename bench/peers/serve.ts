/**
 * The child side of the peer protocol (see peer.ts) for peers written in
 * TypeScript: print the hello, then answer each request line in order.
 */
import { createInterface } from 'node:readline';
import type { Skip, Timing, TimingConfig } from '../harness.js';

export interface Request {
  id: number;
  impl: string;
  spec: Record<string, unknown>;
  cfg: TimingConfig;
  threads: number;
}

/** A correctness request: the product of given small operands (stored orientation), flattened. */
export interface CheckRequest {
  id: number;
  impl: string;
  check: { m: number; n: number; k: number; transA: boolean; transB: boolean; batch: number; a: number[]; b: number[] };
}

export type Hello = { ready: true; info: Record<string, unknown> & { impls: string[] } } | { ready: false; reason: string };

/** Serve requests one at a time (a timing must not overlap another). */
export async function serve(hello: Hello, handle: (r: Request) => Promise<Timing | Skip>, check: (r: CheckRequest) => Promise<{ values: number[] } | Skip>): Promise<void> {
  const write = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  write(hello);
  if (!hello.ready) return;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as Request | CheckRequest;
    let rep: Timing | Skip | { values: number[] };
    try {
      rep = 'check' in req ? await check(req) : await handle(req);
    } catch (e) {
      rep = { skip: `failed: ${(e as Error).message.split('\n')[0]}` };
    }
    write({ id: req.id, ...rep });
  }
}
