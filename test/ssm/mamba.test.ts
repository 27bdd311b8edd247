/**
 * The Mamba block: recurrent decoding (conv and SSM caches) equals the full
 * pass token by token; the fused, naive and parallel scans give the same block
 * outputs and parameter gradients; with input-independent Δ, B, C the
 * selective scan is the LTI SSM computed as an S4D-style Vandermonde kernel
 * and FFT convolution; initialisation and parameter names as the reference.
 */
import { describe, expect, it } from 'vitest';
import { tidy, randomKey, nn, stack, slice, sum, mul, add, exp, neg, arange, unsqueeze, transpose, broadcastTo, softplus, astype, type Tensor } from '../../src/index.js';
import { createMixer } from '../../src/zoo/mixer.js';
import { Mamba } from '../../src/zoo/ssm/mamba.js';
import { selectiveScan } from '../../src/zoo/ssm/selectiveScan.js';
import { fftConv } from '../../src/zoo/ssm/fftConv.js';
import { expectRel, paramGrads, sampler } from './helpers.js';

function decode(m: Mamba, x: Tensor): Tensor {
  let st = m.initState(x.shape[0]!);
  const ys: Tensor[] = [];
  for (let t = 0; t < x.shape[1]!; t++) {
    const [y, next] = m.step(slice(x, [null, t]), st);
    ys.push(y);
    st = next;
  }
  st.dispose();
  return stack(ys, 1);
}

describe('Mamba block', () => {
  it('recurrent decoding equals the full pass token by token (float64 and float32)', () => {
    tidy(() => {
      for (const dtype of ['f64', 'f32'] as const) {
        const m = new Mamba(8, { key: randomKey(1), dState: 4, dtype });
        const x = astype(sampler(2).normal([2, 11, 8]), dtype);
        expectRel(decode(m, x), m.forward(x), dtype === 'f64' ? 1e-10 : 1e-4, `${dtype} decode vs full`);
        nn.dispose(m);
      }
    });
  });

  it('fused, naive and parallel scans: same outputs and parameter gradients', () => {
    tidy(() => {
      const x = sampler(3).normal([2, 9, 8]);
      const w = sampler(4).normal([2, 9, 8]);
      const run = (scan: 'fused' | 'ref' | 'parallel', dtype: 'f32' | 'f64') => {
        const m = new Mamba(8, { key: randomKey(5), dState: 4, dtype, scan });
        const xd = astype(x, dtype);
        const y = m.forward(xd).toF64();
        const g = paramGrads(m, () => sum(mul(m.forward(xd), astype(w, dtype))));
        nn.dispose(m);
        return { y, g };
      };
      const ref = run('ref', 'f64');
      for (const [scan, dtype, tol] of [['fused', 'f64', 1e-10], ['parallel', 'f64', 1e-10], ['fused', 'f32', 1e-4]] as const) {
        const r = run(scan, dtype);
        expectRel(r.y, ref.y, tol, `${scan} ${dtype} output`);
        for (const name of Object.keys(ref.g)) expectRel(r.g[name]!, ref.g[name]!, tol, `${scan} ${dtype} d${name}`);
      }
    });
  });

  it('initialisation and parameter names follow the reference implementation', () => {
    const m = new Mamba(16, { key: randomKey(7), dState: 8, dtMin: 0.002, dtMax: 0.05 });
    expect(Object.keys(nn.namedParameters(m))).toEqual([
      'in_proj.weight', 'conv1d.weight', 'conv1d.bias', 'x_proj.weight', 'dt_proj.weight', 'dt_proj.bias', 'A_log', 'D', 'out_proj.weight',
    ]);
    expect(m.in_proj.weight.shape).toEqual([64, 16]);
    expect(m.conv1d.weight.shape).toEqual([32, 1, 4]);
    expect(m.x_proj.weight.shape).toEqual([1 + 16, 32]);
    tidy(() => {
      const A = neg(exp(m.A_log)).toF64();
      for (let i = 0; i < A.length; i++) expect(A[i]).toBeCloseTo(-((i % 8) + 1), 5);
      const dt = softplus(m.dt_proj.bias!).toF64();
      for (const v of dt) {
        expect(v).toBeGreaterThanOrEqual(0.002 * (1 - 1e-5));
        expect(v).toBeLessThanOrEqual(0.05 * (1 + 1e-5));
      }
      expect([...m.D.toF64()].every((v) => v === 1)).toBe(true);
    });
    nn.dispose(m);
  });

  it('is registered as the mixer "mamba"', () => {
    const m = createMixer(8, { kind: 'mamba', dState: 4 }, randomKey(1));
    expect(m).toBeInstanceOf(Mamba);
    expect(m.dModel).toBe(8);
    nn.dispose(m);
  });
});

describe('selective scan with input-independent Δ, B, C', () => {
  it('equals the LTI SSM: the S4D Vandermonde kernel K_l = Σₙ Cₙ Δ Bₙ exp(lΔAₙ) and FFT convolution', () => {
    tidy(() => {
      const s = sampler(8);
      const [b, L, d, N] = [2, 24, 4, 3];
      const u = s.normal([b, L, d]);
      const dt = s.uniform([d], 0.05, 0.3);
      const A = neg(exp(s.normal([d, N], { scale: 0.3 })));
      const Bv = s.normal([N]);
      const Cv = s.normal([N]);
      const D = s.normal([d]);
      const [y] = selectiveScan({
        u, delta: broadcastTo(dt, [b, L, d]), A, B: broadcastTo(Bv, [b, L, N]), C: broadcastTo(Cv, [b, L, N]), D,
      });
      // (d, N, L) Vandermonde of the per-channel decays, times the (d, N) coefficients Cₙ Δ Bₙ
      const l = arange(0, L, 1, { dtype: 'f64' });
      const V = exp(mul(unsqueeze(mul(unsqueeze(dt, -1), A), -1), l));
      const coef = mul(unsqueeze(dt, -1), mul(Bv, Cv)); // (d, N)
      const K = sum(mul(unsqueeze(coef, -1), V), 1); // (d, L)
      const conv = add(transpose(fftConv(transpose(u, 1, 2), K), 1, 2), mul(u, D));
      expectRel(y!, conv, 1e-10, 'selective scan vs S4D convolution');
    });
  });
});
