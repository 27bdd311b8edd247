/**
 * Ops that move data to join, pad or mask tensors: concat (n-ary), stack,
 * constant padding (negative pads crop), roll, and the triangular masks
 * tril/triu. Each primitive's VJP is another op of this family or a slice, so
 * gradients of gradients stay inside the family:
 *   concat ↔ slices of the cotangent, pad(b, a) ↔ pad(−b, −a), tril ↔ tril.
 */
import type { Tensor } from '../core/tensor.js';
import { promote, type DType } from '../core/dtype.js';
import { contiguousStrides, shapeStr, sizeOf } from '../core/shape.js';
import { defineOp, type OpDef } from './registry.js';
import { apply } from './apply.js';
import { tidy } from '../core/memory.js';
import { assertTensor, identity, reshape, unsqueeze } from './views.js';
import { slice, type SliceSpec } from './slice.js';
import { zerosLike } from './creation.js';

function axisIn(op: string, axis: unknown, ndim: number, arg = 'axis'): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new Error(`${op}: ${arg} ${String(axis)} is out of range for rank ${ndim} (allowed ${-ndim}..${ndim - 1})`);
  }
  return axis < 0 ? axis + ndim : axis;
}

// ---- concat, stack ---------------------------------------------------------------

/** Concatenate along `axis`: every input has the same rank and the same size on every other axis. */
export const concatOp: OpDef<{ axis: number; sizes: number[] }> = defineOp<{ axis: number; sizes: number[] }>({
  name: 'concat',
  infer: (xs, a) => {
    const s0 = xs[0]!.shape;
    let n = 0;
    let dtype: DType = xs[0]!.dtype;
    xs.forEach((x, i) => {
      const bad = x.shape.length !== s0.length || x.shape.some((d, k) => k !== a.axis && d !== s0[k]);
      if (bad) throw new Error(`concat: xs[${i}] is ${shapeStr(x.shape)} but xs[0] is ${shapeStr(s0)}; only axis ${a.axis} may differ`);
      if (x.shape[a.axis] !== a.sizes[i]) throw new Error(`concat: xs[${i}] is ${shapeStr(x.shape)} but sizes[${i}] is ${a.sizes[i]}`);
      n += x.shape[a.axis]!;
      dtype = promote(dtype, x.dtype);
    });
    const shape = s0.slice();
    shape[a.axis] = n;
    return [{ shape, dtype }];
  },
  ref: (xs, ins, a, [out]) => {
    const y = new Float64Array(sizeOf(out!.shape));
    const outer = sizeOf(out!.shape.slice(0, a.axis));
    const inner = sizeOf(out!.shape.slice(a.axis + 1));
    const rowOut = out!.shape[a.axis]! * inner;
    let at = 0;
    xs.forEach((x, i) => {
      const row = ins[i]!.shape[a.axis]! * inner; // one outer index of input i is a contiguous run of `row`
      for (let o = 0; o < outer; o++) y.set(x.subarray(o * row, (o + 1) * row), o * rowOut + at);
      at += row;
    });
    return [y];
  },
  vjp: (ctx, [g]) => {
    // the input sizes travel in the attributes, so the tape need not keep the inputs alive
    let at = 0;
    return ctx.attrs.sizes.map((n) => {
      const part = slice(g!, [...new Array<SliceSpec>(ctx.attrs.axis).fill(null), { start: at, stop: at + n }]);
      at += n;
      return part;
    });
  },
  jvp: (ctx, ts) => [apply(concatOp, ts.map((t, i) => t ?? zerosLike(ctx.inputs[i]!)), ctx.attrs)[0]!],
  saveInputs: false,
});

/** Join tensors along an existing axis; dtypes promote. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) throw new Error('concat: xs must be a non-empty array of Tensors');
  xs.forEach((x, i) => assertTensor('concat', `xs[${i}]`, x));
  const r = xs[0]!.ndim;
  if (r === 0) throw new Error('concat: xs[0] is a scalar ([]); concat needs at least one axis (use stack for scalars)');
  const ax = axisIn('concat', axis, r);
  xs.forEach((x, i) => {
    if (x.ndim !== r) throw new Error(`concat: xs[${i}] is ${shapeStr(x.shape)} (rank ${x.ndim}) but xs[0] is ${shapeStr(xs[0]!.shape)} (rank ${r})`);
  });
  if (xs.length === 1) return identity(xs[0]!);
  return apply(concatOp, xs, { axis: ax, sizes: xs.map((x) => x.shape[ax]!) })[0]!;
}

/** Join tensors of one shape along a new axis (`axis` indexes the result). */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) throw new Error('stack: xs must be a non-empty array of Tensors');
  xs.forEach((x, i) => assertTensor('stack', `xs[${i}]`, x));
  const s0 = xs[0]!.shape;
  xs.forEach((x, i) => {
    if (x.shape.length !== s0.length || x.shape.some((d, k) => d !== s0[k])) throw new Error(`stack: xs[${i}] is ${shapeStr(x.shape)} but xs[0] is ${shapeStr(s0)}; all must match`);
  });
  const ax = axisIn('stack', axis, s0.length + 1);
  return tidy(() => concat(xs.map((x) => unsqueeze(x, ax)), ax));
}

// ---- pad ------------------------------------------------------------------------

/** Constant padding: axis d gets pads[d][0] values before and pads[d][1] after; negative pads crop. */
export const padOp: OpDef<{ pads: [number, number][]; value: number }> = defineOp<{ pads: [number, number][]; value: number }>({
  name: 'pad',
  infer: ([x], a) => [{ shape: x!.shape.map((n, d) => n + a.pads[d]![0] + a.pads[d]![1]), dtype: x!.dtype }],
  ref: ([x], [m], a, [out]) => {
    const shape = m!.shape;
    const os = out!.shape;
    const y = new Float64Array(sizeOf(os)).fill(a.value);
    const cs = contiguousStrides(os);
    const nd = shape.length;
    // walk the input; an element lands at its index shifted by the leading pad, unless that is cropped away
    const ctr = new Array<number>(nd).fill(0);
    for (let k = 0; k < x!.length; k++) {
      let dst = 0;
      let inside = true;
      for (let d = 0; d < nd; d++) {
        const j = ctr[d]! + a.pads[d]![0];
        if (j < 0 || j >= os[d]!) {
          inside = false;
          break;
        }
        dst += j * cs[d]!;
      }
      if (inside) y[dst] = x![k]!;
      for (let d = nd - 1; d >= 0; d--) {
        if (++ctr[d]! < shape[d]!) break;
        ctr[d] = 0;
      }
    }
    return [y];
  },
  // the adjoint of padding by (b, a) is padding by (−b, −a) with zeros: crop what was added, re-insert zeros where cropped
  vjp: (ctx, [g]) => [apply(padOp, [g!], { pads: ctx.attrs.pads.map(([b, a]) => [-b, -a] as [number, number]), value: 0 })[0]!],
  jvp: (ctx, [t]) => [apply(padOp, [t!], { pads: ctx.attrs.pads, value: 0 })[0]!],
  saveInputs: false,
});

/**
 * Pad with a constant: `pads` holds one [before, after] pair per leading axis
 * (axes past the list are not padded), like NumPy's pad. Negative amounts crop.
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  assertTensor('pad', 'x', x);
  if (!Array.isArray(pads)) throw new Error(`pad: pads must be an array of [before, after] pairs, got ${String(pads)}`);
  if (pads.length > x.ndim) throw new Error(`pad: ${pads.length} pairs in pads for x ${shapeStr(x.shape)} of rank ${x.ndim}`);
  if (typeof value !== 'number') throw new Error(`pad: value must be a number, got ${typeof value}`);
  const full: [number, number][] = x.shape.map((n, d) => {
    const p = pads[d];
    if (p === undefined) return [0, 0];
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => Number.isInteger(v))) throw new Error(`pad: pads[${d}] must be a pair of integers [before, after], got ${JSON.stringify(p)}`);
    if (n + p[0] + p[1] < 0) throw new Error(`pad: pads[${d}] = [${p[0]},${p[1]}] crops more than axis ${d} of x ${shapeStr(x.shape)} holds (${n})`);
    return [p[0], p[1]];
  });
  if (full.every(([b, a]) => b === 0 && a === 0)) return identity(x);
  return apply(padOp, [x], { pads: full, value })[0]!;
}

// ---- roll -----------------------------------------------------------------------

/**
 * Roll elements along axes: element i moves to (i + shift) mod n. Without axes,
 * x is rolled as if flattened (like torch.roll). Built from slices and concat.
 */
export function roll(x: Tensor, shifts: number | readonly number[], axes?: number | readonly number[]): Tensor {
  assertTensor('roll', 'x', x);
  const sh = typeof shifts === 'number' ? [shifts] : shifts;
  if (!Array.isArray(sh) || sh.some((s) => !Number.isInteger(s))) throw new Error(`roll: shifts must be an integer or an array of integers, got ${String(shifts)}`);
  if (axes === undefined) {
    if (sh.length !== 1) throw new Error(`roll: without axes, shifts must be a single integer, got [${sh.join(',')}]`);
    return tidy(() => reshape(roll(reshape(x, [x.size]), sh[0]!, 0), x.shape));
  }
  const ax = (typeof axes === 'number' ? [axes] : axes).map((a) => axisIn('roll', a, x.ndim, 'axes entry'));
  if (ax.length !== sh.length) throw new Error(`roll: shifts [${sh.join(',')}] and axes [${ax.join(',')}] must have the same length`);
  return tidy(() => {
    let y = x;
    ax.forEach((d, i) => {
      const n = y.shape[d]!;
      const s = n === 0 ? 0 : ((sh[i]! % n) + n) % n;
      if (s === 0) return;
      const lead = new Array<SliceSpec>(d).fill(null);
      y = concat([slice(y, [...lead, { start: n - s }]), slice(y, [...lead, { stop: n - s }])], d);
    });
    return y === x ? identity(x) : y;
  });
}

// ---- tril, triu -----------------------------------------------------------------

function makeTri(name: 'tril' | 'triu') {
  // keep (i, j) when j − i ≤ k (tril) or j − i ≥ k (triu)
  const keep = name === 'tril' ? (i: number, j: number, k: number): boolean => j - i <= k : (i: number, j: number, k: number): boolean => j - i >= k;
  const op: OpDef<{ k: number }> = defineOp<{ k: number }>({
    name,
    infer: ([x]) => {
      if (x!.shape.length < 2) throw new Error(`${name}: x must have at least 2 axes (a batch of matrices), got ${shapeStr(x!.shape)}`);
      return [{ shape: x!.shape, dtype: x!.dtype }];
    },
    ref: ([x], [m], a) => {
      const s = m!.shape;
      const rows = s[s.length - 2]!;
      const cols = s[s.length - 1]!;
      const y = new Float64Array(x!.length);
      for (let b = 0; b < x!.length; b += rows * cols) {
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (keep(i, j, a.k)) y[b + i * cols + j] = x![b + i * cols + j]!;
      }
      return [y];
    },
    // a mask is its own adjoint
    vjp: (ctx, [g]) => [apply(op, [g!], ctx.attrs)[0]!],
    jvp: (ctx, [t]) => [apply(op, [t!], ctx.attrs)[0]!],
    saveInputs: false,
  });
  const fn = (x: Tensor, k = 0): Tensor => {
    assertTensor(name, 'x', x);
    if (!Number.isInteger(k)) throw new Error(`${name}: k must be an integer, got ${k}`);
    if (x.ndim < 2) throw new Error(`${name}: x must have at least 2 axes (a batch of matrices), got ${shapeStr(x.shape)}`);
    return apply(op, [x], { k })[0]!;
  };
  return [op, fn] as const;
}

/** Lower triangle of the last two axes: keeps entries with j − i ≤ k, zeroes the rest (batched). */
export const [trilOp, tril] = makeTri('tril');
/** Upper triangle of the last two axes: keeps entries with j − i ≥ k, zeroes the rest (batched). */
export const [triuOp, triu] = makeTri('triu');
