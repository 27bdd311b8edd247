/**
 * FFT identities at the tensor level: round trips (ifft∘fft, irfft∘rfft for
 * even and odd n), Parseval's theorem, the unitary 'ortho' norm, rfft as
 * the first half of fft, a transform along a middle axis of a batch, the
 * gradient of a spectral energy, and errors for bad input.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { mulberry32, randn } from '../helpers/rng.js';
import { expectClose } from '../helpers/check.js';

const f64 = { dtype: 'f64' as const };
const rng = mulberry32(5);
const rand = (shape: number[]): Tensor => nb.tensor(Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => randn(rng)), shape, f64);
const energy = (...ts: Tensor[]): number => ts.reduce((s, t) => s + nb.tidy(() => nb.sum(nb.square(t)).item()), 0);

describe('fft identities', () => {
  it('ifft(fft(z)) = z for power-of-two and other lengths', () => {
    nb.tidy(() => {
      for (const n of [8, 12, 7]) {
        const re = rand([3, n]);
        const im = rand([3, n]);
        const [fr, fi] = nb.fft(re, im);
        const [br, bi] = nb.ifft(fr, fi);
        expectClose(br.toF64(), re.toF64(), 1e-12, `re, n = ${n}`);
        expectClose(bi.toF64(), im.toF64(), 1e-12, `im, n = ${n}`);
      }
    });
  });

  it('irfft(rfft(x), n) = x for even and odd n, and rfft is the first ⌊n/2⌋+1 bins of fft', () => {
    nb.tidy(() => {
      for (const n of [10, 9]) {
        const x = rand([2, n]);
        const [re, im] = nb.rfft(x);
        expect(re.shape).toEqual([2, Math.floor(n / 2) + 1]);
        expectClose(nb.irfft(re, im, { n }).toF64(), x.toF64(), 1e-12, `round trip n = ${n}`);
        const [fr, fi] = nb.fft(x);
        const h = Math.floor(n / 2) + 1;
        expectClose(re.toF64(), nb.slice(fr, [null, { stop: h }]).toF64(), 1e-12, 'rfft re = fft re');
        expectClose(im.toF64(), nb.slice(fi, [null, { stop: h }]).toF64(), 1e-12, 'rfft im = fft im');
      }
    });
  });

  it("Parseval: Σ|x|² = Σ|X|²/n, and the 'ortho' transform preserves the norm", () => {
    nb.tidy(() => {
      const n = 16;
      const re = rand([n]);
      const im = rand([n]);
      const [fr, fi] = nb.fft(re, im);
      expect(energy(fr, fi) / n).toBeCloseTo(energy(re, im), 10);
      const [or, oi] = nb.fft(re, im, { norm: 'ortho' });
      expect(energy(or, oi)).toBeCloseTo(energy(re, im), 10);
      const [gr, gi] = nb.fft(re, im, { norm: 'forward' });
      expectClose(gr.toF64(), fr.toF64().map((v) => v / n), 1e-12, "'forward' carries 1/n");
      expectClose(gi.toF64(), fi.toF64().map((v) => v / n), 1e-12, "'forward' carries 1/n");
    });
  });

  it('a transform along a middle axis equals the transform of the moved axis', () => {
    nb.tidy(() => {
      const x = rand([2, 6, 3]);
      const [a] = nb.fft(x, undefined, { axis: 1 });
      const [b] = nb.fft(nb.permute(x, [0, 2, 1]));
      expectClose(a.toF64(), nb.permute(b, [0, 2, 1]).toF64(), 1e-12, 'axis 1');
    });
  });

  it('the gradient of the spectral energy Σ|rfft(x)_k|²·w_k matches finite differences', () => {
    nb.tidy(() => {
      const x0 = rand([9]);
      const w = rand([5]);
      const loss = (x: Tensor): Tensor => {
        const [re, im] = nb.rfft(x);
        return nb.sum(nb.mul(nb.add(nb.square(re), nb.square(im)), w));
      };
      const g = (nb.grad(loss)(x0) as Tensor).toF64();
      const v = x0.toF64();
      const fd = Array.from(v, (_, j) => {
        const at = (d: number): number => nb.tidy(() => loss(nb.tensor(v.map((u, i) => (i === j ? u + d : u)), [9], f64)).item());
        return (at(1e-6) - at(-1e-6)) / 2e-6;
      });
      expectClose(g, fd, 1e-6, 'd/dx');
    });
  });
});

describe('fft errors', () => {
  const x = nb.zeros([2, 4]);
  it.each([
    ['re/im shapes', () => nb.fft(x, nb.zeros([2, 3])), 'fft: re is [2,4] but im is [2,3]; they must match'],
    ['axis', () => nb.fft(x, undefined, { axis: 2 }), 'fft: axis 2 is out of range for a tensor of rank 2'],
    ['norm', () => nb.rfft(x, { norm: 'unitary' as never }), "rfft: norm must be 'backward', 'ortho' or 'forward', got unitary"],
    ['scalar', () => nb.rfft(nb.scalar(1)), 'rfft: x must have at least one axis'],
    ['empty axis', () => nb.ifft(nb.zeros([0])), 'ifft: axis 0 of re [0] is empty'],
    ['irfft bins', () => nb.irfft(x, x, { n: 10 }), 'irfft: n = 10 needs 6 bins along axis 1, but re is [2,4] with 4 (pad or slice the spectrum first)'],
    ['irfft n', () => nb.irfft(nb.zeros([1]), nb.zeros([1])), 'irfft: n must be a positive integer, got 0 (the default 2·(bins − 1) for 1 bins)'],
  ])('%s', (_name, f, msg) => {
    expect(f).toThrow(msg);
  });
});
