/** Shared checks for the attention family: fast vs naive parity in values and gradients, decoding vs the full pass, memory high-water marks. */
import * as nb from '../../src/index.js';
import type { Mixer, MixerState } from '../../src/zoo/mixer.js';
import { expectClose } from '../helpers/check.js';

export type Fn = (...xs: nb.Tensor[]) => nb.Tensor;

/** f and g agree on `inputs` in values and in the gradient of a random linear functional of the output. */
export function expectParity(f: Fn, g: Fn, inputs: nb.Tensor[], tol: number, what: string, seed = 99): void {
  nb.tidy(() => {
    const yf = f(...inputs);
    const yg = g(...inputs);
    expectClose(yf.toF64(), yg.toF64(), tol, `${what}: values`);
    const w = nb.normal(nb.randomKey(seed), yf.shape as number[], { dtype: yf.dtype });
    const [, gf] = nb.valueAndGrad((...xs: nb.Tensor[]) => nb.sum(nb.mul(f(...xs), w)))(...inputs);
    const [, gg] = nb.valueAndGrad((...xs: nb.Tensor[]) => nb.sum(nb.mul(g(...xs), w)))(...inputs);
    gf.forEach((d, i) => expectClose(d.toF64(), gg[i]!.toF64(), tol, `${what}: gradient ${i}`));
  });
}

/** Running step() over x (b, n, d) token by token; returns (b, n, d) values. */
export function decode<S extends MixerState>(m: Mixer<S>, x: nb.Tensor): Float64Array {
  return nb.tidy(() => {
    const [b, n] = x.shape as [number, number];
    let st = m.initState(b);
    const outs: nb.Tensor[] = [];
    for (let t = 0; t < n; t++) {
      const [y, s2] = m.step(nb.slice(x, [null, t]), st);
      outs.push(y);
      st = s2;
    }
    st.dispose();
    return nb.stack(outs, 1).toF64();
  });
}

/** step() over the sequence equals forward (causal mixers). */
export function expectDecodeEqualsForward<S extends MixerState>(m: Mixer<S>, x: nb.Tensor, tol: number, what: string): void {
  nb.tidy(() => expectClose(decode(m, x), m.forward(x).toF64(), tol, `${what}: step vs forward`));
}

/** Extra bytes at the allocator's high-water mark while fn runs (inputs excluded), everything fn made freed after. */
export function peakExtraBytes(fn: () => unknown): number {
  nb.resetPeakMemory();
  const base = nb.memory().liveBytes;
  nb.tidy(() => {
    fn();
  });
  return nb.memory().peakBytes - base;
}
