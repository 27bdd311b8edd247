/**
 * Mamba-2's SSD: the chunked form equals the quadratic (masked) form and the
 * recurrence, in values, final state and gradients of x, Δ, A, B, C, for
 * chunk sizes that do and do not divide L; peak memory of the chunked form
 * grows linearly in L where the quadratic form's grows as L².
 */
import { describe, expect, it } from 'vitest';
import { tidy, exp, neg, astype, memory, resetPeakMemory, grad, sum, type Tensor } from '../../src/index.js';
import { ssdChunked, ssdQuadratic, ssdRecurrent, type SsdInputs } from '../../src/zoo/ssm/ssd.js';
import { expectRel, sampler, valuesAndGrads } from './helpers.js';

function inputs(b: number, L: number, H: number, P: number, N: number, seed: number): Tensor[] {
  const s = sampler(seed);
  return [s.normal([b, L, H, P]), s.uniform([b, L, H], 0.05, 0.6), neg(exp(s.normal([H], { scale: 0.5 }))), s.normal([b, L, H, N]), s.normal([b, L, H, N])];
}
const named = (xs: Tensor[]): SsdInputs => ({ x: xs[0]!, dt: xs[1]!, A: xs[2]!, B: xs[3]!, C: xs[4]! });

describe('SSD forms agree', () => {
  it.each([
    [16, 4],
    [19, 5],
    [7, 16],
  ])('L = %i, chunk %i: chunked = quadratic = recurrent (values, final state, all gradients; float64)', (L, Q) => {
    tidy(() => {
      const [b, H, P, N] = [2, 3, 2, 4];
      const xs = inputs(b, L, H, P, N, L + Q);
      const s = sampler(99);
      const ws = [s.normal([b, L, H, P]), s.normal([b, H, N, P])];
      const [rec, gRec] = valuesAndGrads((...ys) => ssdRecurrent(named(ys)), xs, ws);
      const [chk, gChk] = valuesAndGrads((...ys) => ssdChunked(named(ys), Q), xs, ws);
      const [quad, gQuad] = valuesAndGrads((...ys) => [ssdQuadratic(named(ys))], xs, ws.slice(0, 1));
      expectRel(chk[0]!, rec[0]!, 1e-10, 'chunked y');
      expectRel(chk[1]!, rec[1]!, 1e-10, 'chunked final state');
      expectRel(quad[0]!, rec[0]!, 1e-10, 'quadratic y');
      ['x', 'dt', 'A', 'B', 'C'].forEach((n, i) => expectRel(gChk[i]!, gRec[i]!, 1e-10, `chunked d${n}`));
      // the quadratic form has no final state: compare its gradients with those of the chunked form for y alone
      const [, gChkY] = valuesAndGrads((...ys) => [ssdChunked(named(ys), Q)[0]], xs, ws.slice(0, 1));
      ['x', 'dt', 'A', 'B', 'C'].forEach((n, i) => expectRel(gQuad[i]!, gChkY[i]!, 1e-10, `quadratic d${n}`));
    });
  });

  it('float32 chunked form agrees with the float64 recurrence to 1e-4', () => {
    tidy(() => {
      const xs = inputs(1, 70, 2, 4, 8, 3);
      const [want] = ssdRecurrent(named(xs));
      const [got] = ssdChunked(named(xs.map((x) => astype(x, 'f32'))), 16);
      expectRel(got, want, 1e-4, 'f32');
    });
  });

  it('rejects B of the wrong shape, naming it', () => {
    tidy(() => {
      const xs = inputs(1, 4, 2, 2, 3, 1);
      xs[3] = sampler(1).normal([1, 4, 1, 3]);
      expect(() => ssdChunked(named(xs))).toThrow(/B must be \[1,4,2,3\]/);
    });
  });
});

describe('SSD cost', () => {
  it('chunked forward + backward peak memory grows linearly in L, the quadratic form’s as L²', () => {
    const peak = (L: number, f: (s: SsdInputs) => Tensor): number =>
      tidy(() => {
        const xs = inputs(1, L, 2, 4, 4, 5).map((x) => astype(x, 'f32'));
        const before = memory().liveBytes;
        resetPeakMemory();
        const g = grad((...ys: Tensor[]) => sum(f(named(ys))), { argnums: [0, 1, 2, 3, 4] })(...xs) as Tensor[];
        g.forEach((t) => t.dispose());
        return memory().peakBytes - before;
      });
    const chunked = (s: SsdInputs) => ssdChunked(s, 16)[0];
    const rc = peak(512, chunked) / peak(128, chunked);
    const rq = peak(512, ssdQuadratic) / peak(128, ssdQuadratic);
    expect(rc).toBeGreaterThan(3);
    expect(rc).toBeLessThan(5.5);
    expect(rq).toBeGreaterThan(10);
  });
});
