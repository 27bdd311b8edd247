/**
 * S4 (DPLR) and S4D-LegS: the NPLR decomposition of HiPPO-LegS reconstructs
 * the matrix; the step matrices equal the bilinear discretisation of the
 * HiPPO system seen in the eigenbasis; the Cauchy kernel (Woodbury, inverse
 * FFT) equals Re(Cᵀ Āˡ B̄) by explicit powers; FFT convolution = direct
 * convolution = step-by-step decoding; the kernel's gradients equal central
 * differences; S4D-LegS is S4's diagonal part; the 's4' mixer decodes.
 */
import { describe, expect, it } from 'vitest';
import { tidy, randomKey, nn, stack, slice, sum, mul, tensor, backward, astype, type Tensor } from '../../src/index.js';
import { S4 } from '../../src/zoo/ssm/s4.js';
import { S4D } from '../../src/zoo/ssm/s4d.js';
import { S4DBlock } from '../../src/zoo/ssm/s4dBlock.js';
import { s4StepMatrices } from '../../src/zoo/ssm/s4Step.js';
import { eighJacobi, nplrLegS } from '../../src/zoo/ssm/nplr.js';
import { discretize, hippo } from '../../src/zoo/ssm/hippo.js';
import { createMixer } from '../../src/zoo/mixer.js';
import { expectRel, sampler } from './helpers.js';

type C = [number, number];
const cm = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];

/** Column j of V = [W, W̄] (N × N complex) at row i. */
function vAt(d: ReturnType<typeof nplrLegS>, N: number, i: number, j: number): C {
  const h = N / 2;
  const [r, q] = [d.Wre[i * h + (j % h)]!, d.Wim[i * h + (j % h)]!];
  return j < h ? [r, q] : [r, -q];
}

const mk = (opts: { H?: number; N?: number; lMax?: number; mode?: 'fft' | 'direct'; seed?: number } = {}) =>
  new S4(opts.H ?? 2, { key: randomKey(opts.seed ?? 1), dState: opts.N ?? 8, lMax: opts.lMax ?? 16, mode: opts.mode, dtype: 'f64', dtMin: 0.05, dtMax: 0.5 });

function decode(layer: { initState(b: number): { dispose(): void }; step(x: Tensor, s: never): [Tensor, unknown] }, u: Tensor): Tensor {
  let st = layer.initState(u.shape[0]!) as unknown;
  const ys: Tensor[] = [];
  for (let t = 0; t < u.shape[1]!; t++) {
    const [y, next] = layer.step(slice(u, [null, t]), st as never);
    ys.push(y);
    st = next;
  }
  (st as { dispose(): void }).dispose();
  return stack(ys, 1);
}

describe('NPLR form of HiPPO-LegS', () => {
  it.each([4, 8, 16])('N = %i: V(Λ − P̃P̃*)V* = −A_LegS, Re Λ = −½, V unitary, B̃ = V*B', (N) => {
    const d = nplrLegS(N);
    const { A, B } = hippo('legs', N);
    let err = 0;
    let unit = 0;
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < N; k++) {
        // Σ_j V_ij Λ_j conj(V_kj) − P_i P_k, Λ of the conjugate half conjugated
        let s: C = [0, 0];
        let g: C = [0, 0];
        for (let j = 0; j < N; j++) {
          const lam: C = [d.lambdaRe[j % (N / 2)]!, (j < N / 2 ? 1 : -1) * d.lambdaIm[j % (N / 2)]!];
          const [vi, vk] = [vAt(d, N, i, j), vAt(d, N, k, j)];
          const t = cm(cm(vi, lam), [vk[0], -vk[1]]);
          s = [s[0] + t[0], s[1] + t[1]];
          const u = cm(vi, [vk[0], -vk[1]]);
          g = [g[0] + u[0], g[1] + u[1]];
        }
        err = Math.max(err, Math.abs(s[0] - d.P[i]! * d.P[k]! + A[i * N + k]!), Math.abs(s[1]));
        unit = Math.max(unit, Math.abs(g[0] - (i === k ? 1 : 0)), Math.abs(g[1]));
      }
    }
    expect(err).toBeLessThan(1e-11 * N);
    expect(unit).toBeLessThan(1e-12 * N);
    expect([...d.lambdaRe].every((x) => x === -0.5)).toBe(true);
    expect([...d.lambdaIm].every((x, j) => x > 0 && (j === 0 || x > d.lambdaIm[j - 1]!))).toBe(true);
    for (let j = 0; j < N / 2; j++) {
      let b: C = [0, 0];
      for (let i = 0; i < N; i++) b = [b[0] + d.Wre[i * (N / 2) + j]! * B[i]!, b[1] - d.Wim[i * (N / 2) + j]! * B[i]!];
      expect(Math.abs(b[0] - d.Bre[j]!) + Math.abs(b[1] - d.Bim[j]!)).toBeLessThan(1e-12 * N);
    }
  });

  it('eighJacobi: M v = λ v for a random symmetric matrix', () => {
    const n = 7;
    const r = sampler(5).values(n * n);
    const M = Float64Array.from({ length: n * n }, (_, q) => r[q]! + r[(q % n) * n + Math.floor(q / n)]!);
    const { values, vectors } = eighJacobi(M, n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let mv = 0;
        for (let k = 0; k < n; k++) mv += M[i * n + k]! * vectors[k * n + j]!;
        expect(Math.abs(mv - values[j]! * vectors[i * n + j]!)).toBeLessThan(1e-12);
      }
    }
  });
});

describe('S4 kernel', () => {
  it('at init, Ā and B̄ are the bilinear discretisation of the HiPPO-LegS system in the eigenbasis (V*ĀV, V*B̄)', () => {
    const N = 8;
    const d = nplrLegS(N);
    const dt = 0.1;
    const h = N / 2;
    const m = s4StepMatrices({ lambda: [d.lambdaRe, d.lambdaIm], P: [d.Pre, d.Pim], B: [d.Bre, d.Bim], C: [new Float64Array(h).fill(1), new Float64Array(h)], dt }, 16);
    const { A, B } = hippo('legs', N);
    const { Ad, Bd } = discretize(A, B, N, dt, 'bilinear');
    let err = 0;
    for (let i = 0; i < N; i++) {
      let b: C = [0, 0];
      for (let k = 0; k < N; k++) {
        const v = vAt(d, N, k, i);
        b = [b[0] + v[0] * Bd[k]!, b[1] - v[1] * Bd[k]!];
        let s: C = [0, 0];
        for (let p = 0; p < N; p++) {
          for (let q = 0; q < N; q++) {
            const a = Ad[p * N + q]!;
            if (a === 0) continue;
            const vp = vAt(d, N, p, i);
            const t = cm([vp[0], -vp[1]], vAt(d, N, q, k));
            s = [s[0] + a * t[0], s[1] + a * t[1]];
          }
        }
        err = Math.max(err, Math.abs(s[0] - m.dA.re[i * N + k]!), Math.abs(s[1] - m.dA.im[i * N + k]!));
      }
      err = Math.max(err, Math.abs(b[0] - m.dB.re[i]!), Math.abs(b[1] - m.dB.im[i]!));
    }
    expect(err).toBeLessThan(1e-12);
  });

  it.each([16, 17])('lMax = %i: the Cauchy kernel equals Re(Cᵀ Āˡ B̄) by explicit powers, and is real', (lMax) => {
    tidy(() => {
      const H = 2;
      const N = 8;
      const layer = mk({ H, N, lMax });
      const K = layer.kernel(lMax).toF64();
      const P = layer.P.toF64();
      const B = layer.B.toF64();
      const Cp = layer.C.toF64();
      const ldt = layer.log_dt.toF64();
      const lar = layer.log_A_real.toF64();
      const aim = layer.A_imag.toF64();
      const M = N / 2;
      let err = 0;
      for (let c = 0; c < H; c++) {
        const half = (src: Float64Array, part: number): Float64Array => Float64Array.from({ length: M }, (_, j) => src[(c * M + j) * 2 + part]!);
        const m = s4StepMatrices(
          {
            lambda: [Float64Array.from({ length: M }, (_, j) => -Math.exp(lar[c * M + j]!)), aim.slice(c * M, c * M + M)],
            P: [half(P, 0), half(P, 1)], B: [half(B, 0), half(B, 1)], C: [half(Cp, 0), half(Cp, 1)], dt: Math.exp(ldt[c]!),
          },
          lMax,
        );
        let x: C[] = Array.from({ length: N }, (_, i) => [m.dB.re[i]!, m.dB.im[i]!]);
        for (let l = 0; l < lMax; l++) {
          const y = x.reduce<C>((s, xi, i) => { const t = cm([m.C.re[i]!, m.C.im[i]!], xi); return [s[0] + t[0], s[1] + t[1]]; }, [0, 0]);
          expect(Math.abs(y[1])).toBeLessThan(1e-12);
          err = Math.max(err, Math.abs(y[0] - K[c * lMax + l]!));
          x = Array.from({ length: N }, (_, i) => x.reduce<C>((s, xj, j) => { const t = cm([m.dA.re[i * N + j]!, m.dA.im[i * N + j]!], xj); return [s[0] + t[0], s[1] + t[1]]; }, [0, 0]));
        }
      }
      expect(err).toBeLessThan(1e-12);
      nn.dispose(layer);
    });
  });

  it('gradients of every parameter through the kernel equal central differences', () => {
    tidy(() => {
      const layer = mk({ H: 2, N: 4, lMax: 9, seed: 4 });
      const w = sampler(6).normal([2, 9]);
      const loss = (): Tensor => sum(mul(layer.kernel(9), w));
      const l0 = loss();
      nn.zeroGrad(layer);
      backward(l0);
      const named = nn.namedParameters(layer) as Record<string, Tensor>;
      for (const name of ['log_dt', 'log_A_real', 'A_imag', 'P', 'B', 'C']) {
        const p = named[name]!;
        const g = p.grad!.toF64();
        const v = p.toF64();
        for (const i of [0, v.length - 1]) {
          const at = (e: number): number => {
            const q = Float64Array.from(v);
            q[i] += e;
            (layer as unknown as Record<string, Tensor>)[name] = tensor(q, p.shape, { dtype: 'f64' });
            const r = loss().item();
            (layer as unknown as Record<string, Tensor>)[name] = p;
            return r;
          };
          const fd = (at(1e-6) - at(-1e-6)) / 2e-6;
          expect(Math.abs(fd - g[i]!), `d${name}[${i}]: ${g[i]} vs ${fd}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        }
      }
      nn.zeroGrad(layer);
      nn.dispose(layer);
    });
  });
});

describe('S4 modes agree', () => {
  it('FFT convolution = direct convolution = step-by-step decoding, for L < lMax and L = lMax (float64)', () => {
    tidy(() => {
      for (const L of [11, 16]) {
        const u = sampler(L).normal([2, L, 3]);
        const fft = mk({ H: 3, lMax: 16 });
        const direct = mk({ H: 3, lMax: 16, mode: 'direct' });
        const yf = fft.forward(u);
        expectRel(direct.forward(u), yf, 1e-11, `direct vs fft (L = ${L})`);
        expectRel(decode(fft as never, u), yf, 1e-9, `step vs fft (L = ${L})`);
        fft.disposeStep();
        nn.dispose(fft);
        nn.dispose(direct);
      }
    });
  });

  it('float32 agrees with float64 to 1e-5', () => {
    tidy(() => {
      const u = sampler(9).normal([2, 40, 3]);
      const layer = (dtype: 'f32' | 'f64') => new S4(3, { key: randomKey(2), dState: 16, lMax: 64, dtype });
      const [a, b] = [layer('f32'), layer('f64')];
      expectRel(a.forward(astype(u, 'f32')), b.forward(u), 1e-5, 'f32 vs f64');
      nn.dispose(a);
      nn.dispose(b);
    });
  });

  it('rejects sequences longer than lMax, naming it', () => {
    tidy(() => {
      const layer = mk({ lMax: 8 });
      expect(() => layer.forward(sampler(1).normal([1, 9, 2]))).toThrow(/9 positions but lMax is 8/);
      nn.dispose(layer);
    });
  });
});

describe('S4D-LegS', () => {
  it('is the diagonal part of S4: A = Λ and B = W*B of the NPLR form; FFT = recurrence = decoding', () => {
    tidy(() => {
      const layer = new S4D(2, { key: randomKey(2), dState: 8, init: 'legs', dtype: 'f64', dtMin: 0.01, dtMax: 0.3 });
      const d = nplrLegS(8);
      expectRel(layer.A_imag.toF64(), [...d.lambdaIm, ...d.lambdaIm], 1e-15, 'Im A');
      expectRel(layer.B.toF64(), [0, 1, 2, 3, 0, 1, 2, 3].flatMap((j) => [d.Bre[j % 4]!, d.Bim[j % 4]!]), 1e-15, 'B');
      const u = sampler(3).normal([1, 13, 2]);
      const y = layer.forward(u);
      expectRel(layer.forwardRecurrent(u), y, 1e-10, 'recurrence vs fft');
      expectRel(decode(layer as never, u), y, 1e-10, 'decode vs fft');
      nn.dispose(layer);
    });
  });
});

describe("'s4' mixer", () => {
  it('is registered; step-by-step decoding equals the full causal pass', () => {
    tidy(() => {
      const m = createMixer(4, { kind: 's4', dState: 6, lMax: 12, dtype: 'f64' }, randomKey(7)) as S4DBlock;
      expect(m.ssm).toBeInstanceOf(S4);
      const x = sampler(8).normal([2, 12, 4]);
      expectRel(decode(m as never, x), m.forward(x), 1e-9, 'decode vs full');
      (m.ssm as S4).disposeStep();
      nn.dispose(m);
    });
  });
});
