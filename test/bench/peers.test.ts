/**
 * The benchmark's peers compute the op they time: each running peer
 * (TensorFlow.js always — it is a dev dependency; PyTorch and onnxruntime
 * when installed, else skipped with the reason) multiplies small given
 * operands in every transpose variant and a batch, and must match a float64
 * triple loop. Also: a timing request answers with samples, and a request for
 * a family a peer does not know is skipped with a reason, not an error.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isSkip, QUICK_TIMING } from '../../bench/harness.js';
import { PEER_NAMES, startPeer, type PeerProcess, type ProductCheck } from '../../bench/peers/peer.js';
import { mulberry32, randn } from '../helpers/rng.js';

const started = await Promise.all(PEER_NAMES.map(async (name) => [name, await startPeer(name)] as const));
afterAll(() => {
  for (const [, p] of started) if (!isSkip(p)) p.close();
});

/** op(A)·op(B) in float64 for operands stored row-major in their stored orientation. */
function reference(c: ProductCheck): number[] {
  const out: number[] = [];
  const [ar, ac] = c.transA ? [c.k, c.m] : [c.m, c.k];
  const [br, bc] = c.transB ? [c.n, c.k] : [c.k, c.n];
  for (let q = 0; q < c.batch; q++) {
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let s = 0;
        for (let p = 0; p < c.k; p++) {
          const a = c.a[q * ar * ac + (c.transA ? p * ac + i : i * ac + p)]!;
          const b = c.b[q * br * bc + (c.transB ? j * bc + p : p * bc + j)]!;
          s += a * b;
        }
        out.push(s);
      }
    }
  }
  return out;
}

function product(seed: number, m: number, n: number, k: number, transA: boolean, transB: boolean, batch = 1): ProductCheck {
  const rng = mulberry32(seed);
  const vals = (len: number): number[] => Array.from({ length: len }, () => Math.fround(randn(rng)));
  return { m, n, k, transA, transB, batch, a: vals(batch * m * k), b: vals(batch * k * n) };
}

const impls: Record<string, string[]> = { torch: ['torch'], tfjs: ['tfjs-wasm', 'tfjs-cpu'], onnxruntime: ['onnxruntime'] };

for (const [name, proc] of started) {
  describe.skipIf(isSkip(proc))(`peer ${name}${isSkip(proc) ? ` (skipped: ${proc.skip})` : ''}`, () => {
    const p = proc as PeerProcess;
    // (a skipped describe still collects its tests: name them without touching the missing process)
    const mine = isSkip(proc) ? impls[name]! : ((p.info.impls as string[] | undefined) ?? impls[name]!);

    it.each(mine)('%s: every transpose variant and a batch match the float64 product', async (impl) => {
      const cases = [[false, false], [true, false], [false, true], [true, true]].map(([tA, tB], i) => product(100 + i, 3, 5, 4, tA!, tB!));
      cases.push(product(7, 2, 3, 4, false, false, 2));
      for (const c of cases) {
        const got = await p.check(impl, c);
        if (isSkip(got)) throw new Error(`${impl}: ${got.skip}`);
        const want = reference(c);
        expect(got).toHaveLength(want.length);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `${impl} transA ${c.transA} transB ${c.transB} batch ${c.batch} [${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!))));
      }
    });

    it.each(mine)('%s: times a case, skips an unknown family with a reason', async (impl) => {
      const t = await p.request(impl, { family: 'sgemm', m: 8, n: 8, k: 8, transA: false, transB: true, batch: 1 }, QUICK_TIMING, 1);
      if (isSkip(t)) throw new Error(`${impl}: ${t.skip}`);
      expect(t.perCallMs.length).toBeGreaterThan(0);
      t.perCallMs.forEach((x) => expect(x).toBeGreaterThan(0));
      const s = await p.request(impl, { family: 'no-such-family' }, QUICK_TIMING, 1);
      expect(isSkip(s) && s.skip).toMatch(/no-such-family|matmul only/);
    });
  });
}
