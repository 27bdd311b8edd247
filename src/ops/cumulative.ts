/**
 * Cumulative ops along one axis: cumsum, cumprod, cummax/cummin, a
 * first-order linear recurrence h_t = a_t·h_{t−1} + b_t, and a shift by
 * whole positions.
 *
 * Why the recurrence is a primitive: the exact gradient of a cumulative
 * product is a linear recurrence. For y_t = ∏_{j≤t} x_j,
 *
 *   ∂L/∂x_k = Σ_{i≥k} g_i ∏_{j≤i, j≠k} x_j = E_k · S_k,
 *   E_k = ∏_{j<k} x_j = y_{k−1}                 (exclusive cumprod),
 *   S_k = g_k + x_{k+1} · S_{k+1}                 (a reverse linear recurrence).
 *
 * Both factors are polynomials in x, so the rule holds exactly at zeros in
 * the input (the usual shortcut revcumsum(g·y)/x divides by zero there) and
 * differentiates again exactly: the recurrence's own VJP is the same
 * recurrence run the other way (the adjoint of a linear scan, as in the
 * backward pass of an RNN or a state-space model). Everything stays O(n).
 *
 * `exclusiveProd` (the product of every other element of a reduction group)
 * is built from these and gives `prod` its exact, zero-safe gradient.
 */
import { Tensor } from '../core/tensor.js';
import { toFloat } from '../core/dtype.js';
import { normAxes, normAxis, shapeStr, shapesEqual, sizeOf, type Shape } from '../core/shape.js';
import { defineOp } from './registry.js';
import { apply } from './apply.js';
import { arithmeticDType } from './broadcast.js';
import { add, mul } from './elementwise.js';
import { broadcastTo } from './views.js';
import { prod } from './reduce.js';
import { onesLike, zerosLike } from './creation.js';
import { gather, scatterAdd } from './indexing.js';
import { tidy } from '../core/memory.js';

/** (outer, n, inner) such that element (o, t, i) of a contiguous array sits at (o·n + t)·inner + i. */
function split(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis]!, inner: sizeOf(shape.slice(axis + 1)) };
}

/**
 * Visit every line along `axis` in scan order (backwards when `reverse`), calling
 * `step(pos, prev)` with the flat index of each element and that of the element
 * visited just before it on the same line (−1 for the first).
 */
function scanLines(shape: Shape, axis: number, reverse: boolean, step: (pos: number, prev: number) => void): void {
  const { outer, n, inner } = split(shape, axis);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let prev = -1;
      for (let s = 0; s < n; s++) {
        const t = reverse ? n - 1 - s : s;
        const pos = base + t * inner;
        step(pos, prev);
        prev = pos;
      }
    }
  }
}

export interface ScanAttrs {
  axis: number;
  reverse: boolean;
}

export const cumsumOp = defineOp<ScanAttrs>({
  name: 'cumsum',
  infer: ([x]) => [{ shape: x!.shape, dtype: arithmeticDType(x!.dtype, x!.dtype) }],
  ref: ([x], [m], a) => {
    const y = new Float64Array(x!.length);
    scanLines(m!.shape, a.axis, a.reverse, (p, q) => (y[p] = (q < 0 ? 0 : y[q]!) + x![p]!));
    return [y];
  },
  vjp: (ctx, [g]) => [cumsum(g!, ctx.attrs.axis, { reverse: !ctx.attrs.reverse })],
  jvp: (ctx, [t]) => [cumsum(t!, ctx.attrs.axis, { reverse: ctx.attrs.reverse })],
  saveInputs: false,
});

export const cumprodOp = defineOp<ScanAttrs>({
  name: 'cumprod',
  infer: ([x]) => [{ shape: x!.shape, dtype: arithmeticDType(x!.dtype, x!.dtype) }],
  ref: ([x], [m], a) => {
    const y = new Float64Array(x!.length);
    scanLines(m!.shape, a.axis, a.reverse, (p, q) => (y[p] = (q < 0 ? 1 : y[q]!) * x![p]!));
    return [y];
  },
  // dx = E ⊙ S with E the exclusive cumprod and S the adjoint recurrence (see the file comment)
  vjp: (ctx, [g]) => {
    const { axis, reverse } = ctx.attrs;
    const d = reverse ? -1 : 1;
    const E = shiftAxis(ctx.outputs[0]!, axis, d, 1);
    const S = linearRecurrence(shiftAxis(ctx.inputs[0]!, axis, -d, 0), g!, axis, { reverse: !reverse });
    return [mul(E, S)];
  },
  // ẏ_t = x_t·ẏ_{t−1} + ẋ_t·y_{t−1}: the same recurrence driven by ẋ ⊙ E
  jvp: (ctx, [t]) => {
    const { axis, reverse } = ctx.attrs;
    const E = shiftAxis(ctx.outputs[0]!, axis, reverse ? -1 : 1, 1);
    return [linearRecurrence(ctx.inputs[0]!, mul(t!, E), axis, { reverse })];
  },
  saveOutputs: true,
});

/** h_t = a_t·h_{t−1} + b_t from h_{−1} = 0 (reverse: h_t = a_t·h_{t+1} + b_t from h_n = 0). */
export const linearRecurrenceOp = defineOp<ScanAttrs>({
  name: 'linearRecurrence',
  infer: ([a, b]) => {
    if (!shapesEqual(a!.shape, b!.shape)) throw new Error(`linearRecurrence: a is ${shapeStr(a!.shape)} but b is ${shapeStr(b!.shape)}`);
    return [{ shape: b!.shape, dtype: toFloat(arithmeticDType(a!.dtype, b!.dtype)) }];
  },
  ref: ([a, b], [m], at) => {
    const h = new Float64Array(b!.length);
    scanLines(m!.shape, at.axis, at.reverse, (p, q) => (h[p] = (q < 0 ? 0 : a![p]! * h[q]!) + b![p]!));
    return [h];
  },
  // adjoint: λ_t = g_t + a_{t+1}·λ_{t+1} (the same recurrence the other way); ∂a_t = λ_t·h_{t−1}, ∂b_t = λ_t
  vjp: (ctx, [g]) => {
    const { axis, reverse } = ctx.attrs;
    const d = reverse ? -1 : 1;
    const lambda = linearRecurrence(shiftAxis(ctx.inputs[0]!, axis, -d, 0), g!, axis, { reverse: !reverse });
    return [mul(lambda, shiftAxis(ctx.outputs[0]!, axis, d, 0)), lambda];
  },
  // ḣ_t = a_t·ḣ_{t−1} + (ȧ_t·h_{t−1} + ḃ_t)
  jvp: (ctx, [ta, tb]) => {
    const { axis, reverse } = ctx.attrs;
    const drive = ta ? mul(ta, shiftAxis(ctx.outputs[0]!, axis, reverse ? -1 : 1, 0)) : null;
    const rhs = drive && tb ? add(drive, tb) : (drive ?? tb!);
    return [linearRecurrence(ctx.inputs[0]!, rhs, axis, { reverse })];
  },
  saveOutputs: true,
});

export interface ShiftAttrs {
  axis: number;
  by: number;
  fill: number;
}

/** y_t = x_{t−by} where that index exists, else `fill`. Linear in x (affine with fill ≠ 0). */
export const shiftAxisOp = defineOp<ShiftAttrs>({
  name: 'shiftAxis',
  infer: ([x]) => [{ shape: x!.shape, dtype: x!.dtype }],
  ref: ([x], [m], a) => {
    const { outer, n, inner } = split(m!.shape, a.axis);
    const y = new Float64Array(x!.length);
    for (let o = 0; o < outer; o++) {
      for (let t = 0; t < n; t++) {
        const src = t - a.by;
        const inside = src >= 0 && src < n;
        for (let i = 0; i < inner; i++) y[(o * n + t) * inner + i] = inside ? x![(o * n + src) * inner + i]! : a.fill;
      }
    }
    return [y];
  },
  vjp: (ctx, [g]) => [shiftAxis(g!, ctx.attrs.axis, -ctx.attrs.by, 0)],
  jvp: (ctx, [t]) => [shiftAxis(t!, ctx.attrs.axis, ctx.attrs.by, 0)],
  saveInputs: false,
});

/**
 * Running maximum (minimum) along an axis with the index where it was attained, after
 * PyTorch's cummax/cummin: on ties the LATER index wins (x ≥ running max replaces it), a
 * NaN propagates and keeps the index of the first NaN. The VJP sends each output's
 * cotangent to that index (scatterAdd), the JVP reads the tangent there (gather).
 */
function makeCumExtremum(name: 'cummax' | 'cummin', sign: 1 | -1) {
  return defineOp<{ axis: number }>({
    name,
    infer: ([x]) => [
      { shape: x!.shape, dtype: x!.dtype },
      { shape: x!.shape, dtype: 'i32' },
    ],
    ref: ([x], [m], a) => {
      const { outer, n, inner } = split(m!.shape, a.axis);
      const y = new Float64Array(x!.length);
      const at = new Float64Array(x!.length);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let best = NaN;
          let bi = 0;
          for (let t = 0; t < n; t++) {
            const pos = (o * n + t) * inner + i;
            const v = x![pos]!;
            if (t === 0 || (best === best && (v !== v || sign * v >= sign * best))) {
              best = v;
              bi = t;
            }
            y[pos] = best;
            at[pos] = bi;
          }
        }
      }
      return [y, at];
    },
    vjp: (ctx, [g]) => {
      const x = ctx.inputs[0]!;
      return [g ? scatterAdd(zerosLike(x, { dtype: g.dtype }), ctx.attrs.axis, ctx.outputs[1]!, g) : null];
    },
    jvp: (ctx, [t]) => [gather(t!, ctx.attrs.axis, ctx.outputs[1]!), null],
    saveOutputs: true,
  });
}

export const cummaxOp = makeCumExtremum('cummax', 1);
export const cumminOp = makeCumExtremum('cummin', -1);

function checkTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, name);
}

export interface ScanOptions {
  /** scan from the end of the axis towards its start */
  reverse?: boolean;
}

/** Running sum along `axis` (PyTorch's cumsum; `reverse` sums from the end). */
export function cumsum(x: Tensor, axis: number, opts: ScanOptions = {}): Tensor {
  checkTensor('cumsum', 'x', x);
  return apply(cumsumOp, [x], { axis: normAxis('cumsum', axis, x.ndim), reverse: opts.reverse ?? false })[0]!;
}

/** Running product along `axis`; its gradient is exact with zeros in x (see the file comment). */
export function cumprod(x: Tensor, axis: number, opts: ScanOptions = {}): Tensor {
  checkTensor('cumprod', 'x', x);
  return apply(cumprodOp, [x], { axis: normAxis('cumprod', axis, x.ndim), reverse: opts.reverse ?? false })[0]!;
}

/** Running maximum along `axis` and the (i32) index attaining it: [values, indices] (PyTorch's cummax: later index on ties). */
export function cummax(x: Tensor, axis: number): [Tensor, Tensor] {
  checkTensor('cummax', 'x', x);
  const [v, i] = apply(cummaxOp, [x], { axis: normAxis('cummax', axis, x.ndim) });
  return [v!, i!];
}

/** Running minimum along `axis` and the (i32) index attaining it: [values, indices] (later index on ties). */
export function cummin(x: Tensor, axis: number): [Tensor, Tensor] {
  checkTensor('cummin', 'x', x);
  const [v, i] = apply(cumminOp, [x], { axis: normAxis('cummin', axis, x.ndim) });
  return [v!, i!];
}

/**
 * The first-order linear recurrence h_t = a_t·h_{t−1} + b_t along `axis`, from h = 0
 * (with `reverse`: h_t = a_t·h_{t+1} + b_t from the end). a and b broadcast together.
 * The scan of linear RNNs and diagonal state-space models, in O(n).
 */
export function linearRecurrence(a: Tensor, b: Tensor, axis: number, opts: ScanOptions = {}): Tensor {
  checkTensor('linearRecurrence', 'a', a);
  checkTensor('linearRecurrence', 'b', b);
  return tidy(() => {
    let [aa, bb] = [a, b];
    if (!shapesEqual(a.shape, b.shape)) {
      const shape = add(a, b).shape; // broadcast rule and its error message
      aa = broadcastTo(a, shape);
      bb = broadcastTo(b, shape);
    }
    return apply(linearRecurrenceOp, [aa, bb], { axis: normAxis('linearRecurrence', axis, bb.ndim), reverse: opts.reverse ?? false })[0]!;
  });
}

/** Shift along `axis` by `by` positions (positive: towards higher indices), filling vacated slots with `fill`. */
export function shiftAxis(x: Tensor, axis: number, by: number, fill = 0): Tensor {
  checkTensor('shiftAxis', 'x', x);
  if (!Number.isInteger(by)) throw new Error(`shiftAxis: by must be an integer, got ${by}`);
  if (typeof fill !== 'number') throw new Error(`shiftAxis: fill must be a number, got ${typeof fill}`);
  return apply(shiftAxisOp, [x], { axis: normAxis('shiftAxis', axis, x.ndim), by, fill })[0]!;
}

/**
 * For each element, the product of the OTHER elements of its reduction group over
 * `axes` (all when omitted): the derivative of `prod`. Computed without division, so
 * it is exact with zeros in x: along one axis it is the exclusive cumprod from the
 * left times the exclusive cumprod from the right; over several axes
 *   excl(x, [a, ...rest]) = exclAlong(x, a) · excl(prod(x, a, keepdim), rest),
 * since the others in the group are those sharing x's position off axis a, plus every
 * element of the other lines.
 */
export function exclusiveProd(x: Tensor, axes?: number | readonly number[]): Tensor {
  checkTensor('exclusiveProd', 'x', x);
  const ax = normAxes('exclusiveProd', axes, x.ndim);
  return tidy(() => exclusiveRec(x, ax));
}

function exclusiveRec(x: Tensor, axes: readonly number[]): Tensor {
  if (axes.length === 0) return onesLike(x, { dtype: arithmeticDType(x.dtype, x.dtype) }); // the empty product
  const [a, ...rest] = axes as [number, ...number[]];
  const left = shiftAxis(cumprod(x, a), a, 1, 1);
  const right = shiftAxis(cumprod(x, a, { reverse: true }), a, -1, 1);
  const along = mul(left, right);
  return rest.length === 0 ? along : mul(along, exclusiveRec(prod(x, a, true), rest));
}
