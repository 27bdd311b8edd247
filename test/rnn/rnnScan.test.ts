/**
 * The fused recurrence (one op over the sequence, its own BPTT backward)
 * equals the naive per-step cells in values and in the gradients of xp, W_hh,
 * b_hh, h0 and c0: every mode, with and without bias and masks, float64
 * (reference loops, 1e-10) and float32 (heap kernel with sgemm, 1e-4); grad
 * of grad goes through the twin.
 */
import { describe, it } from 'vitest';
import { tidy, astype, grad, sum, mul, tensor, type Tensor } from '../../src/index.js';
import { rnnScan } from '../../src/zoo/rnn/rnnScan.js';
import { rnnScanRef } from '../../src/zoo/rnn/cells.ref.js';
import type { RnnMode } from '../../src/backends/cpu/wasm/rnnLoops.js';
import { expectRel, sampler, valuesAndGrads } from '../ssm/helpers.js';

const G: Record<RnnMode, number> = { lstm: 4, gru: 3, rnn_tanh: 1, rnn_relu: 1 };

function setup(mode: RnnMode, L: number, b: number, H: number, bias: boolean, masked: boolean, seed: number) {
  const s = sampler(seed);
  const xs = [s.normal([L, b, G[mode] * H]), s.normal([G[mode] * H, H], { scale: 0.5 }), ...(bias ? [s.normal([G[mode] * H])] : []), s.normal([b, H]), ...(mode === 'lstm' ? [s.normal([b, H])] : [])];
  // lengths 5, 3, 1 …: mask (L, b), 1 while t < length
  const lengths = Array.from({ length: b }, (_, j) => Math.max(1, L - 2 * j));
  const mask = masked ? tensor(Array.from({ length: L * b }, (_, i) => (Math.floor(i / b) < lengths[i % b]! ? 1 : 0)), [L, b], { dtype: 'f64' }) : null;
  const ws = [s.normal([L, b, H]), s.normal([b, H]), ...(mode === 'lstm' ? [s.normal([b, H])] : [])];
  return { xs, mask, ws };
}

function split(mode: RnnMode, bias: boolean, ys: Tensor[]) {
  let k = 0;
  return { xp: ys[k++]!, whh: ys[k++]!, bhh: bias ? ys[k++]! : null, h0: ys[k++]!, c0: mode === 'lstm' ? ys[k++]! : null };
}

describe.each(['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const)('rnnScan %s', (mode) => {
  it.each([
    [true, false],
    [false, true],
  ])('fused = per-step cells (bias %s, mask %s): values and gradients, float64 and float32', (bias, masked) => {
    tidy(() => {
      const { xs, mask, ws } = setup(mode, 6, 3, 5, bias, masked, 7);
      const fused = (dtype: 'f32' | 'f64') => (...ys: Tensor[]) => {
        const x = split(mode, bias, ys);
        const [hs, h, c] = rnnScan(mode, { ...x, mask: mask ? astype(mask, dtype) : null });
        return c ? [hs, h, c] : [hs, h];
      };
      const naive = (...ys: Tensor[]) => {
        const x = split(mode, bias, ys);
        const [hs, h, c] = rnnScanRef(mode, x.xp, { whh: x.whh, bhh: x.bhh }, x.h0, x.c0, mask);
        return c ? [hs, h, c] : [hs, h];
      };
      const [want, wantG] = valuesAndGrads(naive, xs, ws);
      for (const [dtype, tol] of [['f64', 1e-10], ['f32', 1e-4]] as const) {
        const [got, gotG] = valuesAndGrads(fused(dtype), xs.map((x) => astype(x, dtype)), ws.map((w) => astype(w, dtype)));
        got.forEach((g, k) => expectRel(g, want[k]!, tol, `${dtype} output ${k}`));
        gotG.forEach((g, k) => expectRel(g, wantG[k]!, tol, `${dtype} gradient ${k}`));
      }
    });
  });
});

describe('rnnScan higher order', () => {
  it('grad of grad (LSTM) equals the naive cells’ own', () => {
    tidy(() => {
      const { xs } = setup('lstm', 4, 2, 3, true, false, 3);
      const second = (f: (xp: Tensor) => Tensor) => {
        const inner = (xp: Tensor): Tensor => {
          const g = grad((v: Tensor) => sum(mul(f(v), f(v))))(xp) as Tensor;
          return sum(mul(g, g));
        };
        return (grad(inner)(xs[0]!) as Tensor).toF64();
      };
      const x = split('lstm', true, xs);
      const fused = (xp: Tensor) => rnnScan('lstm', { ...x, xp })[0];
      const naive = (xp: Tensor) => rnnScanRef('lstm', xp, { whh: x.whh, bhh: x.bhh }, x.h0, x.c0, null)[0];
      expectRel(second(fused), second(naive), 1e-10, 'second order');
    });
  });
});
