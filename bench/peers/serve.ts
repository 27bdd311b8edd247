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

export type Hello = { ready: true; info: Record<string, unknown> & { impls: string[] } } | { ready: false; reason: string };

/** Serve requests one at a time (a timing must not overlap another). */
export async function serve(hello: Hello, handle: (r: Request) => Promise<Timing | Skip>): Promise<void> {
  const write = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  write(hello);
  if (!hello.ready) return;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as Request;
    let rep: Timing | Skip;
    try {
      rep = await handle(req);
    } catch (e) {
      rep = { skip: `failed: ${(e as Error).message.split('\n')[0]}` };
    }
    write({ id: req.id, ...rep });
  }
}
