/**
 * Every invertible layer: inverse(forward(x)) = x (1e-10 in float64, 1e-5 in
 * float32), and the log-det it reports equals log|det J| of the Jacobian
 * built column by column with forward-mode autodiff.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { nn } from '../../src/index.js';
import type { DType } from '../../src/index.js';
import {
  ActNorm,
  AdditiveCoupling,
  AffineCoupling,
  ConvConditioner,
  FlowSequence,
  InvertibleConv1x1,
  InvertibleConv1x1LU,
  MLPConditioner,
  Permutation,
  Reverse,
  Scaling,
  Squeeze,
  type FlowLayer,
  type MaskKind,
  type ScaleKind,
} from '../../src/zoo/flows/index.js';
import { autodiffLogdet, jitter, k, relErr } from './helpers.js';

type Case = { name: string; shape: number[]; make: (dtype: DType) => FlowLayer };

const VEC = [4];
const IMG = [2, 4, 4];

function coupling(kind: 'additive' | ScaleKind, mask: MaskKind, shape: number[], dtype: DType, seed: number): FlowLayer {
  const c = shape[0]!;
  const mult = kind === 'additive' ? 1 : 2;
  const net = shape.length === 1 ? new MLPConditioner(c, [8], mult * c, { key: k(seed), dtype, zeroInit: false, activation: 'tanh' }) : new ConvConditioner(c, 4, mult * c, { key: k(seed), dtype, zeroInit: false });
  const spec = { kind: mask, parity: 1 as const };
  return kind === 'additive' ? new AdditiveCoupling(c, net, { mask: spec }) : new AffineCoupling(c, net, { mask: spec, scale: kind, dtype });
}

/** A layer whose parameters have left their (often identity) initialisation. */
function jittered<L extends FlowLayer>(l: L, seed: number, std = 0.3): L {
  jitter(l, k(seed), std);
  return l;
}

const CASES: Case[] = [
  { name: 'additive coupling, alternating mask', shape: VEC, make: (d) => coupling('additive', 'alternating', VEC, d, 1) },
  { name: 'additive coupling, checkerboard mask', shape: IMG, make: (d) => coupling('additive', 'checkerboard', IMG, d, 2) },
  { name: 'affine coupling (tanh), half mask', shape: VEC, make: (d) => jittered(coupling('tanh', 'half', VEC, d, 3), 30) },
  { name: 'affine coupling (sigmoid), alternating mask', shape: VEC, make: (d) => coupling('sigmoid', 'alternating', VEC, d, 4) },
  { name: 'affine coupling (exp), alternating mask', shape: VEC, make: (d) => coupling('exp', 'alternating', VEC, d, 5) },
  { name: 'affine coupling (tanh), checkerboard mask', shape: IMG, make: (d) => jittered(coupling('tanh', 'checkerboard', IMG, d, 6), 31) },
  { name: 'affine coupling (sigmoid), channel mask', shape: IMG, make: (d) => coupling('sigmoid', 'channel', IMG, d, 7) },
  { name: 'ActNorm (vectors)', shape: VEC, make: (d) => jittered(new ActNorm(4, { dtype: d }), 32) },
  { name: 'ActNorm (images)', shape: IMG, make: (d) => jittered(new ActNorm(2, { dtype: d }), 33) },
  { name: 'Scaling', shape: VEC, make: (d) => jittered(new Scaling(4, { dtype: d }), 34) },
  { name: '1×1 conv, plain (vectors)', shape: VEC, make: (d) => jittered(new InvertibleConv1x1(4, { key: k(8), dtype: d }), 35) },
  { name: '1×1 conv, plain (images)', shape: IMG, make: (d) => jittered(new InvertibleConv1x1(2, { key: k(9), dtype: d }), 36) },
  { name: '1×1 conv, LU (vectors)', shape: VEC, make: (d) => jittered(new InvertibleConv1x1LU(4, { key: k(10), dtype: d }), 37) },
  { name: '1×1 conv, LU (images)', shape: [4, 2, 2], make: (d) => jittered(new InvertibleConv1x1LU(4, { key: k(11), dtype: d }), 38) },
  { name: 'squeeze', shape: IMG, make: () => new Squeeze() },
  { name: 'reverse', shape: VEC, make: () => new Reverse(4) },
  { name: 'random permutation', shape: IMG, make: () => new Permutation(2, { key: k(12) }) },
  {
    name: 'a Glow step (ActNorm, LU 1×1, affine coupling)',
    shape: VEC,
    make: (d) => {
      const an = new ActNorm(4, { dtype: d });
      an.initialized = true;
      return jittered(new FlowSequence([an, new InvertibleConv1x1LU(4, { key: k(13), dtype: d }), coupling('sigmoid', 'half', VEC, d, 14)]), 39);
    },
  },
];

function input(shape: number[], b: number, dtype: DType, seed: number): Tensor {
  return nb.normal(k(seed), [b, ...shape], { dtype });
}

function markInitialized(l: FlowLayer): void {
  for (const [, m] of nn.namedModules(l)) if (m instanceof ActNorm) m.initialized = true;
}

describe('invertible layers', () => {
  describe.each(CASES)('$name', ({ shape, make }) => {
    it('inverse(forward(x)) = x in float64 (1e-10) and float32 (1e-5)', () => {
      for (const [dtype, tol] of [
        ['f64', 1e-10],
        ['f32', 1e-5],
      ] as const) {
        const layer = make(dtype);
        markInitialized(layer);
        const x = input(shape, 3, dtype, 100);
        const [y, ld] = layer.forward(x);
        expect(y.shape).toEqual([3, ...layer.outShape(shape)]);
        expect(ld.shape).toEqual([3]);
        const back = layer.inverse(y);
        expect(relErr(back, x)).toBeLessThan(tol);
        // the layer really transforms (except for the unit-free permutations, which move values around)
        expect(relErr(y, x)).toBeGreaterThan(1e-3);
        [x, y, ld, back].forEach((t) => t.dispose());
        nn.dispose(layer);
      }
    });

    it('log-det equals log|det J| from the autodiff Jacobian (float64)', () => {
      const layer = make('f64');
      markInitialized(layer);
      const x = input(shape, 2, 'f64', 101);
      const [, ld] = layer.forward(x);
      const got = ld.toF64();
      for (let i = 0; i < 2; i++) {
        const xi = nb.slice(x, [{ start: i, stop: i + 1 }]);
        const want = autodiffLogdet((z) => layer.forward(z)[0], xi);
        expect(Math.abs(got[i]! - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      }
      nn.dispose(layer);
    });
  });
});
