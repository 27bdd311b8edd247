/**
 * The quantiser's contract: nearest codes, forward values, gradient paths
 * (straight-through = identity; rotation trick = λRᵀ), the two losses, EMA
 * updates against their formula, dead-code restarts, usage and perplexity.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';
import {
  codebookUsage,
  emaCodebookStep,
  nearestCode,
  perplexity,
  quantize,
  rotationMatrix,
  rotationTrick,
  setCodebook,
  squaredDistances,
  straightThrough,
  VectorQuantizer,
} from '../../src/zoo/vq/index.js';
import { f64, k, relErr } from '../flows/helpers.js';

/** The nearest code of each row by brute force over explicit differences. */
function bruteNearest(z: Float64Array, C: Float64Array, d: number): number[] {
  const n = z.length / d;
  const K = C.length / d;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    let bestD = Infinity;
    for (let j = 0; j < K; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (z[i * d + c]! - C[j * d + c]!) ** 2;
      if (s < bestD) [best, bestD] = [j, s];
    }
    return best;
  });
}

/** A smooth scalar loss of the quantised output and its gradient at a point: L(u) = Σ sin(u)·w. */
const lossOf = (u: Tensor, w: Tensor): Tensor => nb.sum(nb.mul(nb.sin(u), w));

describe('nearest codes', () => {
  it('batched distances and argmin agree with brute force (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (n, K, d, seed) => {
        nb.tidy(() => {
          const z = nb.normal(k(seed), [n, d], f64);
          const C = nb.normal(k(seed + 1), [K, d], f64);
          const D = squaredDistances(z, C).toF64();
          const zv = z.toF64();
          const Cv = C.toF64();
          for (let i = 0; i < n; i++)
            for (let j = 0; j < K; j++) {
              let s = 0;
              for (let c = 0; c < d; c++) s += (zv[i * d + c]! - Cv[j * d + c]!) ** 2;
              expect(Math.abs(D[i * K + j]! - s)).toBeLessThan(1e-10 * (1 + s));
            }
          expect(Array.from(nearestCode(z, C).toF64())).toEqual(bruteNearest(zv, Cv, d));
        });
      }),
      { numRuns: 25 },
    );
  });

  it('usage and perplexity of known histograms', () => {
    expect(codebookUsage([0, 0, 1, 3], 4)).toBe(0.75);
    expect(perplexity([0, 1, 2, 3], 4)).toBeCloseTo(4, 12);
    expect(perplexity([2, 2, 2], 4)).toBeCloseTo(1, 12);
    // p = (½, ¼, ¼): H = 1.5 ln 2
    expect(perplexity([0, 0, 1, 2], 3)).toBeCloseTo(Math.exp(1.5 * Math.LN2), 12);
    expect(() => codebookUsage([4], 4)).toThrow(/out of range for 4 codes/);
  });
});

describe('quantize: values and gradients', () => {
  const n = 6;
  const d = 3;
  const K = 5;

  it.each(['ste', 'rotation'] as const)('%s: the forward value equals the chosen code (f64 1e-10, f32 1e-5)', (gradient) => {
    for (const [dtype, tol] of [
      ['f64', 1e-10],
      ['f32', 1e-5],
    ] as const) {
      nb.tidy(() => {
        const z = nb.normal(k(1), [2, n / 2, d], { dtype });
        const C = nb.normal(k(2), [K, d], { dtype });
        const out = quantize(z, C, { gradient });
        expect(out.zq.shape).toEqual([2, n / 2, d]);
        expect(out.indices.shape).toEqual([2, n / 2]);
        const chosen = nb.indexSelect(C, 0, nb.reshape(out.indices, [n]));
        expect(relErr(nb.reshape(out.zq, [n, d]), chosen)).toBeLessThan(tol);
      });
    }
  });

  it('straight-through: ∂L/∂z equals ∂L/∂z_q (the identity Jacobian)', () => {
    nb.tidy(() => {
      const z = nb.normal(k(3), [n, d], f64);
      const C = nb.normal(k(4), [K, d], f64);
      const w = nb.normal(k(5), [n, d], f64);
      const gz = nb.grad((zz: Tensor) => lossOf(quantize(zz, C).zq, w))(z) as Tensor;
      const e = nb.indexSelect(C, 0, nearestCode(z, C));
      const gzq = nb.grad((u: Tensor) => lossOf(u, w))(e) as Tensor;
      expect(relErr(gz, gzq)).toBeLessThan(1e-12);
      // and the straight-through helper alone: value e, gradient identity
      expect(relErr(straightThrough(z, e), e)).toBeLessThan(1e-12);
    });
  });

  it('the codebook loss moves only the codes, the commitment loss only the encoder; values are the mean squared distances', () => {
    nb.tidy(() => {
      const z = nb.normal(k(6), [n, d], f64);
      const C = nb.normal(k(7), [K, d], f64);
      const [gzCb, gCCb] = nb.grad((zz: Tensor, cc: Tensor) => quantize(zz, cc).codebookLoss, { argnums: [0, 1] })(z, C) as Tensor[];
      const [gzCm, gCCm] = nb.grad((zz: Tensor, cc: Tensor) => quantize(zz, cc).commitLoss, { argnums: [0, 1] })(z, C) as Tensor[];
      expect(nb.max(nb.abs(gzCb!)).item()).toBe(0);
      expect(nb.max(nb.abs(gCCm!)).item()).toBe(0);
      expect(nb.max(nb.abs(gCCb!)).item()).toBeGreaterThan(0);
      const e = nb.indexSelect(C, 0, nearestCode(z, C));
      const mse = nb.mean(nb.square(nb.sub(z, e))).item();
      const out = quantize(z, C, { beta: 0.4 });
      expect(out.codebookLoss.item()).toBeCloseTo(mse, 12);
      expect(out.commitLoss.item()).toBeCloseTo(mse, 12);
      expect(out.loss.item()).toBeCloseTo(1.4 * mse, 12);
      // ∂(commit)/∂z = 2(z − e)/(n·d)
      expect(relErr(gzCm!, nb.mul(nb.sub(z, e), 2 / (n * d)))).toBeLessThan(1e-12);
    });
  });
});

describe('rotation trick (Fifty et al., arXiv 2410.06424)', () => {
  it('R is orthogonal, takes ẑ to ê, and is the product of the two Householder reflections', () => {
    nb.tidy(() => {
      const d = 5;
      const u = nb.normal(k(10), [d], f64);
      const v = nb.normal(k(11), [d], f64);
      const R = rotationMatrix(u, v);
      const I = nb.eye(d, d, f64);
      expect(relErr(nb.matmul(nb.transpose(R), R), I)).toBeLessThan(1e-10);
      const uHat = nb.div(u, nb.norm(u));
      const vHat = nb.div(v, nb.norm(v));
      expect(relErr(nb.matmul(R, nb.reshape(uHat, [d, 1])), nb.reshape(vHat, [d, 1]))).toBeLessThan(1e-10);
      // (I − 2v̂v̂ᵀ)(I − 2rrᵀ), r = (û + v̂)/‖û + v̂‖
      const r = nb.div(nb.add(uHat, vHat), nb.norm(nb.add(uHat, vHat)));
      const H = (a: Tensor): Tensor => nb.sub(I, nb.mul(nb.outer(a, a), 2));
      expect(relErr(R, nb.matmul(H(vHat), H(r)))).toBeLessThan(1e-10);
      expect(nb.det(R).item()).toBeCloseTo(1, 10);
    });
  });

  it('forward value is e; the gradient is λRᵀ∇L(e), not the straight-through ∇L(e)', () => {
    nb.tidy(() => {
      const n = 4;
      const d = 3;
      const z = nb.normal(k(12), [n, d], f64);
      const e = nb.mul(nb.normal(k(13), [n, d], f64), 2);
      const w = nb.normal(k(14), [n, d], f64);
      expect(relErr(rotationTrick(z, e), e)).toBeLessThan(1e-10);
      const gz = nb.grad((zz: Tensor) => lossOf(rotationTrick(zz, e), w))(z) as Tensor;
      const gSte = nb.grad((u: Tensor) => lossOf(u, w))(e) as Tensor; // the STE gradient
      const zv = z.toF64();
      const ev = e.toF64();
      const gv = gSte.toF64();
      const got = gz.toF64();
      for (let i = 0; i < n; i++) {
        const row = (a: Float64Array): Tensor => nb.tensor(a.slice(i * d, (i + 1) * d), [d], f64);
        const R = rotationMatrix(row(zv), row(ev));
        const lambda = nb.norm(row(ev)).item() / nb.norm(row(zv)).item();
        const want = nb.mul(nb.reshape(nb.matmul(nb.transpose(R), nb.reshape(row(gv), [d, 1])), [d]), lambda);
        expect(relErr(got.slice(i * d, (i + 1) * d), want)).toBeLessThan(1e-10);
        // its norm is λ‖g‖ and its direction differs from the straight-through one
        const gi = nb.norm(row(got)).item();
        expect(gi).toBeCloseTo(lambda * nb.norm(row(gv)).item(), 10);
      }
      expect(relErr(gz, gSte)).toBeGreaterThan(0.1);
    });
  });

  it('when the code is z itself the rotation is I, λ = 1 and the gradient is the straight-through one', () => {
    nb.tidy(() => {
      const z = nb.normal(k(15), [3, 4], f64);
      const w = nb.normal(k(16), [3, 4], f64);
      const gz = nb.grad((zz: Tensor) => lossOf(rotationTrick(zz, z), w))(z) as Tensor;
      const gSte = nb.grad((zz: Tensor) => lossOf(straightThrough(zz, z), w))(z) as Tensor;
      expect(relErr(gz, gSte)).toBeLessThan(1e-10);
    });
  });
});

describe('EMA codebook (arXiv 1711.00937, Appendix A.1)', () => {
  it('one training forward applies N ← γN + (1−γ)n, m ← γm + (1−γ)s, e = m / Laplace(N)', () => {
    const K = 4;
    const d = 2;
    const decay = 0.9;
    const eps = 1e-3;
    const q = new VectorQuantizer(K, d, { key: k(20), ema: true, decay, eps, dtype: 'f64' });
    const C0 = [0, 0, 1, 1, -1, 1, 5, 5];
    setCodebook(q, C0);
    const N0 = q.usageCounts();
    const m0 = q.embedSum!.toF64();
    // m starts equal to e·N = the initial codebook (N = 1), so reset it to match C0
    nb.tidy(() => nb.optim.copyInto(q.embedSum!, nb.tensor(C0, [K, d], f64)));
    const z = nb.tensor([0.1, -0.1, 0.9, 1.2, 1.1, 0.8, -0.7, 1.3, -1.2, 0.9], [5, 2], f64);
    const out = q.forward(z);
    expect(Array.from(out.indices.toF64())).toEqual([0, 1, 1, 2, 2]);
    // the formula, written out
    const n = [1, 2, 2, 0];
    const s = [
      [0.1, -0.1],
      [2.0, 2.0],
      [-1.9, 2.2],
      [0, 0],
    ];
    const N = N0.map((v, j) => decay * v + (1 - decay) * n[j]!);
    const total = N.reduce((a, b) => a + b, 0);
    const want: number[] = [];
    for (let j = 0; j < K; j++) {
      const smoothed = ((N[j]! + eps) / (total + K * eps)) * total;
      for (let c = 0; c < d; c++) want.push((decay * C0[j * d + c]! + (1 - decay) * s[j]![c]!) / smoothed);
    }
    expect(relErr(q.usageCounts(), N)).toBeLessThan(1e-14);
    expect(relErr(q.codebook.toF64(), want)).toBeLessThan(1e-12);
    expect(m0.length).toBe(K * d);
    // no gradient path to an EMA codebook, and the loss is the commitment term only
    expect(q.codebook.requiresGrad).toBe(false);
    expect(out.codebookLoss.item()).toBe(0);
    nn.dispose(q);
  });

  it('the pure step function matches the module, and evaluation mode leaves the codebook alone', () => {
    const q = new VectorQuantizer(3, 2, { key: k(21), ema: true, decay: 0.5, dtype: 'f64' });
    const state = { clusterSize: q.usageCounts(), embedSum: q.embedSum!.toF64(), codebook: q.codebook.toF64() };
    const z = nb.normal(k(22), [8, 2], f64);
    nn.evalMode(q);
    const before = q.codebook.toF64();
    q.forward(z);
    expect(q.codebook.toF64()).toEqual(before);
    nn.train(q);
    const idx = q.forward(z).indices.toF64();
    emaCodebookStep(state, z.toF64(), idx, 2, 0.5, 1e-5);
    expect(relErr(q.codebook.toF64(), state.codebook)).toBeLessThan(1e-14);
    nn.dispose(q);
  });

  it('dead codes are restarted onto vectors of the batch', () => {
    const q = new VectorQuantizer(6, 2, { key: k(23), decay: 0.5, deadCodeThreshold: 0.6, dtype: 'f64' });
    setCodebook(q, [0, 0, 100, 100, 101, 100, 100, 101, 99, 100, 100, 99]);
    const z = nb.mul(nb.normal(k(24), [16, 2], f64), 0.1);
    // every vector picks code 0; the other codes' usage halves to 0.5 < 0.6 and they move onto rows of z
    q.forward(z);
    const C = q.codebook.toF64();
    const rows = Array.from({ length: 16 }, (_, i) => `${z.toF64()[2 * i]},${z.toF64()[2 * i + 1]}`);
    for (let j = 1; j < 6; j++) expect(rows).toContain(`${C[2 * j]},${C[2 * j + 1]}`);
    expect(q.usageCounts()[0]).toBeCloseTo(0.5 + 0.5 * 16, 12);
    // the restarted codes get used on the next batch
    const used = codebookUsage(q.forward(z).indices, 6);
    expect(used).toBeGreaterThan(0.5);
    nn.dispose(q);
  });
});
