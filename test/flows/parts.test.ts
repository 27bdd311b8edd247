/**
 * The parts with their own properties: ActNorm's data-dependent init, the LU
 * 1×1 convolution against slogdet, masks, squeeze, split and its factored-out
 * latents, priors, dequantisation and bits/dim.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';
import {
  ActNorm,
  Flow,
  InvertibleConv1x1LU,
  MLPConditioner,
  Split,
  Squeeze,
  VariationalDequantizer,
  bitsPerDim,
  luDecompose,
  maskValues,
  squeeze2x2,
  standardLogistic,
  standardNormal,
  uniformDequantize,
} from '../../src/zoo/flows/index.js';
import { f64, jitter, k, relErr } from './helpers.js';

/** Per-channel mean and (biased) variance over every axis but 1. */
function channelStats(x: Tensor): { mean: number[]; variance: number[] } {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  return nb.tidy(() => ({ mean: Array.from(nb.mean(x, axes).toF64()), variance: Array.from(nb.variance(x, axes, { correction: 0 }).toF64()) }));
}

describe('ActNorm (Glow §3.1)', () => {
  it.each([
    ['vectors', [64, 3]],
    ['images', [8, 3, 4, 4]],
  ])('after the data-dependent init, outputs have zero mean and unit variance per channel (%s)', (_name, shape) => {
    const an = new ActNorm(3, { dtype: 'f64' });
    // shifted and scaled data, so the init has work to do
    const x = nb.tidy(() => nb.add(nb.mul(nb.normal(k(1), shape as number[], f64), nb.reshape(nb.tensor([0.5, 3, 10], f64), [1, 3, ...shape.slice(2).map(() => 1)])), 4));
    expect(an.initialized).toBe(false);
    const [y] = an.forward(x);
    expect(an.initialized).toBe(true);
    const s = channelStats(y);
    s.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-10));
    s.variance.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-5));
    // a second batch does not re-initialise
    const before = an.logScale.toF64();
    an.forward(nb.mul(x, 3));
    expect(an.logScale.toF64()).toEqual(before);
    nn.dispose(an);
  });
});

describe('invertible 1×1 convolution, LU form (Glow eq. 10)', () => {
  it('log-det Σ log|s| equals slogdet(W); W = P·L·(U + diag s); the triangular-solve inverse is W⁻¹', () => {
    const c = 5;
    const layer = new InvertibleConv1x1LU(c, { key: k(2), dtype: 'f64' });
    jitter(layer, k(3), 0.2);
    nb.tidy(() => {
      const W = layer.weight();
      const { sign, logabsdet } = nb.slogdet(W);
      expect(Math.abs(sign.item())).toBe(1);
      expect(Math.abs(nb.sum(layer.logS).item() - logabsdet.item())).toBeLessThan(1e-12);
      const x = nb.normal(k(4), [2, c, 3, 3], f64);
      const [, ld] = layer.forward(x);
      ld.toF64().forEach((v) => expect(Math.abs(v - 9 * logabsdet.item())).toBeLessThan(1e-10));
      expect(relErr(nb.matmul(layer.inverseWeight(), W), nb.eye(c, c, f64))).toBeLessThan(1e-12);
      // P is a permutation, L unit lower, U + diag(s) upper
      const { L, Us } = layer.factors();
      expect(relErr(nb.triu(L, 1), nb.zeros([c, c], f64))).toBe(0);
      expect(relErr(nb.tril(Us, -1), nb.zeros([c, c], f64))).toBe(0);
      expect(relErr(nb.matmul(layer.P, nb.transpose(layer.P)), nb.eye(c, c, f64))).toBe(0);
    });
    nn.dispose(layer);
  });

  it('luDecompose: P·L·U reproduces the matrix, with partial pivoting', () => {
    const c = 4;
    const A = Float64Array.from([0, 2, 1, 3, 1, 1, 0, 2, 4, -1, 2, 0, 1, 0, 3, 1]);
    const { P, L, U } = luDecompose(A, c);
    nb.tidy(() => {
      const prod = nb.matmul(nb.tensor(P, [c, c], f64), nb.matmul(nb.tensor(L, [c, c], f64), nb.tensor(U, [c, c], f64)));
      expect(relErr(prod, A)).toBeLessThan(1e-14);
      for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) if (j > i) expect(L[i * c + j]).toBe(0);
      for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) expect(U[i * c + j]).toBe(0);
    });
    expect(() => luDecompose(new Float64Array(4), 2)).toThrow(/singular/);
  });
});

describe('masks', () => {
  it('checkerboard, channel, alternating and half masks and their complements', () => {
    const cb = maskValues('t', { kind: 'checkerboard', parity: 0 }, [1, 2, 3]);
    expect(cb.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(cb.values)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(Array.from(maskValues('t', { kind: 'checkerboard', parity: 1 }, [1, 2, 3]).values)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(Array.from(maskValues('t', { kind: 'channel', parity: 0 }, [4, 2, 2]).values)).toEqual([1, 1, 0, 0]);
    expect(Array.from(maskValues('t', { kind: 'alternating', parity: 1 }, [5]).values)).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(maskValues('t', { kind: 'half', parity: 0 }, [5]).values)).toEqual([1, 1, 1, 0, 0]);
    expect(() => maskValues('AffineCoupling', { kind: 'checkerboard', parity: 0 }, [4])).toThrow(/AffineCoupling: a 'checkerboard' mask is for \(b, c, h, w\) images/);
    expect(() => maskValues('t', { kind: 'channel', parity: 0 }, [1, 4, 4])).toThrow(/at least 2 channels/);
  });
});

describe('squeeze and split (Real NVP §3.6)', () => {
  it('squeeze puts each 2×2 patch into 4 channels', () => {
    nb.tidy(() => {
      const x = nb.reshape(nb.arange(0, 16, 1, f64), [1, 1, 4, 4]);
      const y = squeeze2x2(x);
      expect(y.shape).toEqual([1, 4, 2, 2]);
      // channel 0: top-left of each patch, channel 1: top-right, 2: bottom-left, 3: bottom-right
      expect(y.toArray()).toEqual([
        [
          [
            [0, 2],
            [8, 10],
          ],
          [
            [1, 3],
            [9, 11],
          ],
          [
            [4, 6],
            [12, 14],
          ],
          [
            [5, 7],
            [13, 15],
          ],
        ],
      ]);
      expect(new Squeeze().outShape([3, 4, 6])).toEqual([12, 2, 3]);
      expect(() => new Squeeze().outShape([1, 3, 4])).toThrow(/cannot be squeezed/);
    });
  });

  it('split: log p(z₂) is the standard normal density, the latent is pushed and popped back, or sampled', () => {
    const sp = new Split(4, { learnedPrior: false });
    nb.tidy(() => {
      const x = nb.normal(k(5), [3, 4, 2, 2], f64);
      const latents: Tensor[] = [];
      const [z1, logp] = sp.forward(x, { latents });
      expect(z1.shape).toEqual([3, 2, 2, 2]);
      expect(latents.length).toBe(1);
      const z2 = latents[0]!.toF64();
      const want = [0, 1, 2].map((b) => {
        let s = 0;
        for (let i = 0; i < 8; i++) s += -0.5 * z2[b * 8 + i]! ** 2 - 0.5 * Math.log(2 * Math.PI);
        return s;
      });
      expect(relErr(logp, want)).toBeLessThan(1e-14);
      expect(relErr(sp.inverse(z1, { latents }), x)).toBe(0);
      expect(latents.length).toBe(0);
      const drawn = sp.inverse(z1, { draw: (shape) => nb.zeros(shape, f64) });
      expect(relErr(nb.slice(drawn, [null, { start: 2 }]), nb.zeros([3, 2, 2, 2], f64))).toBe(0);
      expect(() => sp.inverse(z1)).toThrow(/no latent left in ctx.latents and no ctx.draw/);
    });
    // a learned prior starts as N(0, I) (zero-initialised), and has parameters to train
    const learned = new Split(4, { key: k(6), dtype: 'f64' });
    expect(nn.parameterCount(learned)).toBeGreaterThan(0);
    nb.tidy(() => {
      const x = nb.normal(k(7), [2, 4, 2, 2], f64);
      expect(relErr(learned.forward(x)[1], sp.forward(x)[1])).toBeLessThan(1e-14);
    });
    nn.dispose(learned);
  });
});

describe('priors (NICE §3.4) and sampling temperature (Glow §5)', () => {
  it('logistic log-density is log σ(z)(1 − σ(z)); Gaussian is −½z² − ½log 2π, summed per example', () => {
    nb.tidy(() => {
      const z = nb.normal(k(8), [4, 3], f64);
      const v = z.toF64();
      const sig = (t: number): number => 1 / (1 + Math.exp(-t));
      const logistic = [0, 1, 2, 3].map((b) => [0, 1, 2].reduce((s, j) => s + Math.log(sig(v[b * 3 + j]!) * (1 - sig(v[b * 3 + j]!))), 0));
      const gauss = [0, 1, 2, 3].map((b) => [0, 1, 2].reduce((s, j) => s - 0.5 * v[b * 3 + j]! ** 2 - 0.5 * Math.log(2 * Math.PI), 0));
      expect(relErr(standardLogistic.logProb(z), logistic)).toBeLessThan(1e-13);
      expect(relErr(standardNormal.logProb(z), gauss)).toBeLessThan(1e-14);
    });
  });

  it.each([standardNormal, standardLogistic])('$name samples have standard deviation T·σ₁ at temperature T', (prior) => {
    const sigma1 = prior.name === 'gaussian' ? 1 : Math.PI / Math.sqrt(3);
    nb.tidy(() => {
      for (const T of [0.5, 1]) {
        const s = prior.sample(k(9), [20000], { temperature: T, dtype: 'f64' });
        const sd = nb.std(s).item();
        // the standard error of a sample sd is ≈ σ/√(2n) for the Gaussian; allow 5%
        expect(Math.abs(sd / (T * sigma1) - 1)).toBeLessThan(0.05);
      }
    });
  });
});

describe('dequantisation and bits/dim', () => {
  it('uniform: y = (x + u)/K with u ∈ [0, 1); bits/dim of an empty flow is the Gaussian bound, computed by hand', () => {
    const flow = new Flow([], { eventShape: [3] });
    nb.tidy(() => {
      const x = nb.tensor([0, 255, 17, 3, 128, 200], [2, 3], f64);
      const { y, logdet } = uniformDequantize(x, k(10), { center: true });
      const u = nb.add(nb.mul(nb.add(y, 0.5), 256), nb.neg(x)).toF64();
      u.forEach((v) => expect(v >= -1e-9 && v < 1 + 1e-9).toBe(true));
      expect(Array.from(logdet.toF64())).toEqual([-3 * Math.log(256), -3 * Math.log(256)]);
      const yv = y.toF64();
      let lp = 0;
      for (const t of yv) lp += -0.5 * t * t - 0.5 * Math.log(2 * Math.PI);
      const want = -(lp / 2 - 3 * Math.log(256)) / (3 * Math.LN2);
      expect(flow.bitsPerDim(x, k(10), { center: true })).toBeCloseTo(want, 12);
      expect(bitsPerDim(nb.tensor([-3 * Math.LN2 * 8], f64), 3)).toBeCloseTo(8, 12);
    });
  });

  it('variational (Flow++): u ∈ (0, 1), and the bound term is −D·log K − log q(u|x) of a logistic-normal', () => {
    const net = new MLPConditioner(2, [8], 4, { key: k(11), dtype: 'f64', zeroInit: true });
    const vd = new VariationalDequantizer(net, { bins: 4 });
    nb.tidy(() => {
      const x = nb.tensor([0, 3, 1, 2], [2, 2], f64);
      const { y, logdet } = vd.dequantize(x, k(12));
      // zero-initialised: h = ε ~ N(0, 1), u = σ(ε); q(u) = N(logit u)/(u(1 − u))
      const u = nb.sub(nb.mul(y, 4), x).toF64();
      const want = [0, 1].map((b) => {
        let lq = 0;
        for (let j = 0; j < 2; j++) {
          const ui = u[b * 2 + j]!;
          expect(ui > 0 && ui < 1).toBe(true);
          const h = Math.log(ui / (1 - ui));
          lq += -0.5 * h * h - 0.5 * Math.log(2 * Math.PI) - Math.log(ui * (1 - ui));
        }
        return -2 * Math.log(4) - lq;
      });
      expect(relErr(logdet, want)).toBeLessThan(1e-10);
    });
    // the bound is differentiable w.r.t. q's parameters
    const g = nb.tidy(() => {
      nb.backward(nb.sum(vd.dequantize(nb.tensor([0, 3, 1, 2], [2, 2], f64), k(13)).logdet));
      return nn.parameters(vd).some((p) => p.grad !== null && nb.max(nb.abs(p.grad)).item() > 0);
    });
    expect(g).toBe(true);
    nn.dispose(vd);
  });
});
