/**
 * The split rules of split.ts: how each op's operands move with the loops
 * of its iteration space, which loops its kernel needs whole, and how an
 * output that follows no cut loop is combined from per-piece partials.
 * A loop's extent comes from the op's output (elementwise, matmul, index
 * ops) or its input (reductions, rows); an operand's axis "moves with" a
 * loop when cutting the loop to a range cuts that axis to the same range.
 */
import type { OutMeta, View } from '../backend.js';
import { BINARY, UNARY } from './kernels/elementwise.js';

/** An operand axis that moves with a loop, or null. */
export type Axis = number | null;

/** How an op's operands move with its loops (see the module comment). */
export interface SplitRule {
  loops: readonly number[];
  /** per input, per loop: the input's axis that moves with the loop, or null */
  ins: readonly (readonly Axis[])[];
  /** per output, per loop: likewise */
  outs: readonly (readonly Axis[])[];
  /** loops a kernel needs whole */
  whole?: ReadonlySet<number>;
  /** per output: the reduction (an op name with a kernel) that combines per-piece partials, or null */
  combine?: readonly (string | null)[];
}

const seq = (n: number): number[] => Array.from({ length: n }, (_, j) => j);

/** Loops right-aligned with a shape (NumPy broadcasting): a size-1 axis under a longer loop does not move. */
function aligned(loops: readonly number[], shape: readonly number[]): Axis[] {
  const lead = loops.length - shape.length;
  return loops.map((n, j) => {
    const k = j - lead;
    return k >= 0 && shape[k] === n ? k : null;
  });
}

let elementwiseNames: Set<string> | null = null;
/** Ops computed element by element (built lazily: the kernel tables live in another module). */
function elementwise(): Set<string> {
  return (elementwiseNames ??= new Set([...Object.keys(UNARY), ...Object.keys(BINARY), 'where', 'astype', 'copy', 'geluGrad', 'geluErfGrad', 'siluGrad']));
}

/** Row ops over the trailing k axes (softmax, norms and their backwards): rows may be cut, a row may not. */
function rows(ins: readonly View[], outs: readonly OutMeta[], k: number): SplitRule {
  const loops = ins[0]!.shape;
  const L = loops.length;
  return {
    loops,
    ins: ins.map((v) => aligned(loops, v.shape)),
    outs: outs.map((m) => aligned(loops, m.shape)),
    whole: new Set(seq(k).map((i) => L - 1 - i)),
    // a weight's or bias's gradient (trailing axes only) sums over the rows
    combine: outs.map((m) => (m.shape.length < L ? 'sum' : null)),
  };
}

/** Reductions over `axes`: loops are the input's axes; the output follows the kept ones. */
function reduction(shape: readonly number[], axes: readonly number[], keepdim: boolean, combine: string | null): SplitRule {
  // output axis of each loop: kept loops in order; with keepdim the reduced ones keep a (size-1, unmoved) axis too
  let next = 0;
  const out = shape.map((_, j): Axis => {
    const reduced = axes.includes(j);
    const at = next;
    if (!reduced || keepdim) next++;
    return reduced ? null : at;
  });
  return { loops: shape, ins: [seq(shape.length)], outs: [out], combine: [combine] };
}

/** The split rule of an op, or undefined when it has none. */
export function ruleFor(op: string, ins: readonly View[], attrs: unknown, outs: readonly OutMeta[]): SplitRule | undefined {
  const out = outs[0]?.shape ?? [];
  if (elementwise().has(op)) return { loops: out, ins: ins.map((v) => aligned(out, v.shape)), outs: [seq(out.length)] };
  switch (op) {
    case 'softmaxLast':
    case 'logSoftmaxLast':
    case 'softmaxLastGrad':
      return rows(ins, outs, 1);
    case 'layerNormFused':
    case 'rmsNormFused':
    case 'layerNormGrad':
    case 'rmsNormGrad':
      return rows(ins, outs, (attrs as { k: number }).k);
    case 'sum':
    case 'prod':
    case 'max':
    case 'min':
    case 'all':
    case 'any': {
      const a = attrs as { axes: number[]; keepdim: boolean };
      return reduction(ins[0]!.shape, a.axes, a.keepdim, op);
    }
    case 'argmax':
    case 'argmin': {
      const a = attrs as { axis: number | null; keepdim: boolean };
      const shape = ins[0]!.shape;
      return reduction(shape, a.axis === null ? seq(shape.length) : [a.axis], a.keepdim, null);
    }
    case 'matmul': {
      const [a, b] = ins as [View, View];
      const t = attrs as { transA: boolean; transB: boolean };
      const batch = out.slice(0, -2);
      const ra = a.shape.length;
      const rb = b.shape.length;
      return {
        loops: out,
        ins: [
          [...aligned(batch, a.shape.slice(0, -2)), t.transA ? ra - 1 : ra - 2, null],
          [...aligned(batch, b.shape.slice(0, -2)), null, t.transB ? rb - 2 : rb - 1],
        ],
        outs: [seq(out.length)],
      };
    }
    case 'gather':
    case 'indexSelect': {
      // gather: out[i] = x[i with i_axis ← index[i]]; indexSelect: out = x re-indexed on axis by a 1-D index
      const axis = (attrs as { axis: number }).axis;
      const x = out.map((_, j) => (j === axis ? null : j));
      const index = op === 'gather' ? seq(out.length) : out.map((_, j) => (j === axis ? 0 : null));
      return { loops: out, ins: [x, index], outs: [seq(out.length)] };
    }
    case 'cumsum':
    case 'cumprod':
    case 'cummax':
    case 'cummin': {
      const axis = (attrs as { axis: number }).axis;
      return { loops: out, ins: [seq(out.length)], outs: outs.map(() => seq(out.length)), whole: new Set([axis]) };
    }
    case 'concat': {
      // the inputs lie side by side on the axis, so it stays whole; the other loops move every input
      const axis = (attrs as { axis: number }).axis;
      const map = out.map((_, j) => (j === axis ? null : j));
      return { loops: out, ins: ins.map(() => map), outs: [seq(out.length)], whole: new Set([axis]) };
    }
    case 'pad': {
      const pads = (attrs as { pads: [number, number][] }).pads;
      const same = (j: number): boolean => pads[j]![0] === 0 && pads[j]![1] === 0;
      return { loops: out, ins: [out.map((_, j) => (same(j) ? j : null))], outs: [seq(out.length)], whole: new Set(seq(out.length).filter((j) => !same(j))) };
    }
    case 'sliceGrad': {
      // zeros of the sliced tensor's shape with g on the sliced positions: axes sliced whole move with g
      const a = attrs as { start: number[]; step: number[]; size: number[]; shape: number[] };
      const full = (j: number): boolean => a.start[j] === 0 && a.step[j] === 1 && a.size[j] === a.shape[j];
      return { loops: out, ins: [out.map((_, j) => (full(j) ? j : null))], outs: [seq(out.length)], whole: new Set(seq(out.length).filter((j) => !full(j))) };
    }
    case 'conv':
    case 'convBackpropInput':
      // the batch axis only: every piece needs the whole filter
      return { loops: out, ins: [out.map((_, j) => (j === 0 ? 0 : null)), out.map(() => null)], outs: [seq(out.length)], whole: new Set(seq(out.length).slice(1)) };
    case 'convBackpropFilter':
      // the filter's gradient sums over the batch: per-piece partials, summed
      return { loops: [ins[0]!.shape[0]!], ins: [[0], [0]], outs: [[null]], combine: ['sum'] };
    default:
      return undefined;
  }
}
