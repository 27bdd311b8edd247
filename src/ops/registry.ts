/**
 * What an op is. Each op is defined once, in its family file under `ops/`,
 * with its shape/dtype rule, its float64 reference kernel (or, for views, its
 * stride arithmetic), its VJP rule and its JVP rule side by side.
 *
 * `vjp` and `jvp` are required fields: an op without a gradient rule does not
 * compile. Ops that have no derivative (comparisons, argmax, integer ops)
 * say so explicitly with `'none'`.
 */
import type { DType } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { OutMeta } from '../backends/backend.js';

export interface Meta {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface StridedMeta extends Meta {
  readonly strides: readonly number[];
  readonly offset: number;
}

/** What a VJP or JVP rule sees. Tensors are live aliases; their ops are recorded when building a higher-order graph. */
export interface RuleCtx<A> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
}

/** Cotangents of the outputs (null: zero) → cotangents of the inputs (null: zero or not differentiable). */
export type VjpRule<A> = (ctx: RuleCtx<A>, cts: readonly (Tensor | null)[]) => (Tensor | null)[];
/** Tangents of the inputs (null: zero) → tangents of the outputs (null: zero). */
export type JvpRule<A> = (ctx: RuleCtx<A>, tangents: readonly (Tensor | null)[]) => (Tensor | null)[];

export interface OpDef<A = unknown> {
  readonly name: string;
  /** Shape and dtype rule: validates inputs (errors name the op, the argument and the shapes) and returns output metas. */
  infer(inputs: readonly Meta[], attrs: A): OutMeta[];
  /** Float64 reference kernel over contiguous inputs in their own shapes. Absent for view ops. */
  ref?(xs: readonly Float64Array[], inputs: readonly Meta[], attrs: A, outs: readonly OutMeta[]): Float64Array[];
  /** View ops: new (shape, strides, offset) over the same storage; no data moves. */
  view?(input: StridedMeta, attrs: A): { shape: number[]; strides: number[]; offset: number };
  vjp: VjpRule<A> | 'none';
  jvp: JvpRule<A> | 'none';
  /** Save output aliases for the VJP (default false). */
  saveOutputs?: boolean;
  /** Save input aliases for the VJP (default true). */
  saveInputs?: boolean;
}

/** Define an op; the generic keeps the attrs type attached to the rules. */
export function defineOp<A = undefined>(def: OpDef<A>): OpDef<A> {
  return def;
}
