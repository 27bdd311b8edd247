/**
 * S4D: convolution mode equals recurrent mode (scan and step by step); FFT
 * convolution equals direct convolution (values and gradients); the kernel of
 * a single mode equals its closed form; half of each conjugate pair with 2·Re
 * equals the explicit pair; gradients of every parameter agree across modes.
 */
import { describe, expect, it } from 'vitest';
import { tidy, astype, randomKey, nn, stack, slice, sum, mul, type Tensor } from '../../src/index.js';
import { S4D, s4dImag } from '../../src/zoo/ssm/s4d.js';
import { S4DBlock } from '../../src/zoo/ssm/s4dBlock.js';
import { fftConv } from '../../src/zoo/ssm/fftConv.js';
import { directConv } from '../../src/zoo/ssm/fftConv.ref.js';
import { c } from '../../src/zoo/ssm/complex.js';
import { expectRel, paramGrads, sampler, valuesAndGrads } from './helpers.js';

const mk = (init: 'lin' | 'inv', mode: 'fft' | 'direct' | 'recurrent', H = 3, N = 8, seed = 1) => new S4D(H, { key: randomKey(seed), dState: N, init, mode, dtype: 'f64', dtMin: 0.01, dtMax: 0.5 });

describe('S4D modes agree', () => {
  it.each(['lin', 'inv'] as const)('S4D-%s: FFT convolution = direct convolution = recurrent scan = step by step (float64)', (init) => {
    tidy(() => {
      const u = sampler(2).normal([2, 17, 3]);
      const [fft, direct, rec] = (['fft', 'direct', 'recurrent'] as const).map((m) => mk(init, m).forward(u));
      expectRel(direct!, fft!, 1e-10, 'direct vs fft');
      expectRel(rec!, fft!, 1e-10, 'recurrent vs fft');
      const layer = mk(init, 'fft');
      let state = layer.initState(2);
      const ys: Tensor[] = [];
      for (let t = 0; t < 17; t++) {
        const [y, next] = layer.step(slice(u, [null, t]), state);
        ys.push(y);
        state = next;
      }
      state.dispose();
      expectRel(stack(ys, 1), fft!, 1e-10, 'step vs fft');
    });
  });

  it('gradients of every parameter agree between FFT convolution, direct convolution and the recurrence', () => {
    tidy(() => {
      const s = sampler(3);
      const u = s.normal([1, 12, 3]);
      const w = s.normal([1, 12, 3]);
      const grads = (mode: 'fft' | 'direct' | 'recurrent') => {
        const layer = mk('inv', mode);
        const g = paramGrads(layer, () => sum(mul(layer.forward(u), w)));
        nn.dispose(layer);
        return g;
      };
      const [gf, gd, gr] = [grads('fft'), grads('direct'), grads('recurrent')];
      expect(Object.keys(gf)).toEqual(['log_dt', 'log_A_real', 'A_imag', 'B', 'C', 'D']);
      for (const name of Object.keys(gf)) {
        expectRel(gd[name]!, gf[name]!, 1e-9, `d${name} direct vs fft`);
        expectRel(gr[name]!, gf[name]!, 1e-9, `d${name} recurrent vs fft`);
      }
    });
  });
});

describe('fftConv', () => {
  it.each([1, 2, 7, 64])('equals the direct (Toeplitz) convolution for L = %i, values and gradients', (L) => {
    tidy(() => {
      const s = sampler(L);
      const u = s.normal([2, 3, L]);
      const k = s.normal([3, L]);
      const w = [s.normal([2, 3, L])];
      const [a, ga] = valuesAndGrads((x, y) => [fftConv(x!, y!)], [u, k], w);
      const [b, gb] = valuesAndGrads((x, y) => [directConv(x!, y!)], [u, k], w);
      expectRel(a[0]!, b[0]!, 1e-10, 'values');
      ga.forEach((g, i) => expectRel(g, gb[i]!, 1e-10, `gradient ${i}`));
    });
  });

  it('float32 FFT convolution agrees with the float64 direct one to 1e-5', () => {
    tidy(() => {
      const s = sampler(9);
      const u = s.normal([2, 4, 200]);
      const k = s.normal([4, 200], { scale: 0.1 });
      expectRel(fftConv(astype(u, 'f32'), astype(k, 'f32')), directConv(u, k), 1e-5, 'f32');
    });
  });
});

describe('S4D kernel', () => {
  it('one mode: K_l = 2·Re(C·B·(e^((l+1)ΔA) − e^(lΔA))/A), the ZOH integral of the impulse response', () => {
    tidy(() => {
      const layer = mk('lin', 'fft', 1, 2, 5);
      const [logDt, aReLog, aIm, B, C] = [layer.log_dt, layer.log_A_real, layer.A_imag, layer.B, layer.C].map((t) => t.toF64());
      const dt = Math.exp(logDt![0]!);
      const A: [number, number] = [-Math.exp(aReLog![0]!), aIm![0]!];
      const CB = c.mul([C![0]!, C![1]!], [B![0]!, B![1]!]);
      const L = 20;
      const K = layer.kernel(L).toF64();
      const want = Array.from({ length: L }, (_, l) => {
        const e1 = c.exp([(l + 1) * dt * A[0], (l + 1) * dt * A[1]]);
        const e0 = c.exp([l * dt * A[0], l * dt * A[1]]);
        return 2 * c.mul(CB, c.div(c.sub(e1, e0), A))[0];
      });
      expectRel(K, want, 1e-12, 'single-mode kernel');
    });
  });

  it('half of each conjugate pair with 2·Re equals the sum over both members of the pair (a real kernel)', () => {
    tidy(() => {
      const layer = mk('inv', 'fft', 2, 6, 7);
      const L = 9;
      const K = layer.kernel(L).toF64();
      const { dA, dB } = layer.discretize();
      const [ar, ai, br, bi] = [dA[0], dA[1], dB[0], dB[1]].map((t) => t.toF64());
      const Cv = layer.C.toF64();
      for (let h = 0; h < 2; h++) {
        for (let l = 0; l < L; l++) {
          let sr = 0;
          let si = 0;
          for (let n = 0; n < 3; n++) {
            const i = h * 3 + n;
            const cn: [number, number] = [Cv[2 * i]!, Cv[2 * i + 1]!];
            const lam: [number, number] = [ar![i]!, ai![i]!];
            let pw: [number, number] = [1, 0];
            for (let q = 0; q < l; q++) pw = c.mul(pw, lam);
            const term = c.mul(c.mul(cn, [br![i]!, bi![i]!]), pw);
            // the mode and its conjugate partner (conj C, conj B̄, conj Ā)
            sr += term[0] + term[0];
            si += term[1] - term[1];
          }
          expect(Math.abs(si)).toBeLessThan(1e-14);
          expect(Math.abs(K[h * L + l]! - sr)).toBeLessThan(1e-10 * (1 + Math.abs(sr)));
        }
      }
    });
  });

  it('S4D-Lin and S4D-Inv initialisations; Re A < 0 for any parameter value', () => {
    expect(s4dImag('lin', 6)).toEqual([0, Math.PI, 2 * Math.PI]);
    expect(s4dImag('inv', 4)[1]).toBeCloseTo((4 / Math.PI) * (4 / 3 - 1), 12);
    tidy(() => {
      const layer = mk('lin', 'fft');
      const { dA } = layer.discretize();
      const [r, i] = [dA[0].toF64(), dA[1].toF64()];
      for (let k = 0; k < r.length; k++) expect(Math.hypot(r[k]!, i[k]!)).toBeLessThan(1);
    });
  });
});

describe('S4DBlock (mixer)', () => {
  it('step-by-step decoding equals the full causal pass', () => {
    tidy(() => {
      const block = new S4DBlock(4, { key: randomKey(3), dState: 6, dtype: 'f64' });
      const x = sampler(4).normal([2, 10, 4]);
      const full = block.forward(x);
      let st = block.initState(2);
      const ys: Tensor[] = [];
      for (let t = 0; t < 10; t++) {
        const [y, next] = block.step(slice(x, [null, t]), st);
        ys.push(y);
        st = next;
      }
      st.dispose();
      expectRel(stack(ys, 1), full, 1e-10, 'decode vs full');
      nn.dispose(block);
    });
  });
});
