/**
 * Fused primitives for the hot paths of a transformer step, each one op
 * (one kernel) where the composite spends several passes and temporaries:
 * - `softmaxLast`, `logSoftmaxLast`: (log-)softmax over the last axis, with
 *   the composites' exact semantics (the row max subtracted, replaced by 0
 *   where it is not finite); `softmax`/`logSoftmax` in nn.ts use them for the
 *   last axis.
 * - `layerNormFused`, `rmsNormFused`: layer norm (Ba, Kiros, Hinton, arXiv
 *   1607.06450) and RMS norm (Zhang, Sennrich, arXiv 1910.07467) over the
 *   trailing k axes with optional affine parameters; nn/norm.ts uses them.
 * - `layerNormGrad`, `rmsNormGrad`: the backward of those in one pass
 *   (∂x, ∂w, ∂b from x, w and the cotangent, statistics recomputed).
 *
 * Gradients. VJP and JVP rules are written in tensor ops, so every order of
 * differentiation works. The norms' VJP has two forms: when the backward pass
 * is not itself being recorded (grad mode off inside the rule, no forward-mode
 * tangents active) it calls the fused backward primitive; when it is (grad
 * of grad, jvp of grad) it builds the same closed form from differentiable
 * ops. The backward primitives are therefore never differentiated; their own
 * rules say so if anything ever tries.
 *
 * References compute in float64 and round once; statistics of 16-bit inputs
 * are therefore exact to float32 and better, as the composites' upcast was.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat, type DType } from '../core/dtype.js';
import { shapeStr, sizeOf } from '../core/shape.js';
import { isGradEnabled, jvpState } from '../autodiff/tape.js';
import { defineOp, type Meta, type RuleCtx } from './registry.js';
import { apply } from './apply.js';
import { arithmeticDType } from './broadcast.js';
import { add, astype, exp, mul, rsqrt, square, sub } from './elementwise.js';
import { sum } from './reduce.js';

// ---- softmax, log-softmax ------------------------------------------------------------

function lastAxisInfer(op: string) {
  return ([x]: readonly Meta[]): { shape: readonly number[]; dtype: DType }[] => {
    if (!isFloat(x!.dtype)) throw new Error(`${op}: x must be a floating tensor, got ${x!.dtype}`);
    if (x!.shape.length === 0) throw new Error(`${op}: x must have at least one axis, got a 0-d tensor`);
    return [{ shape: x!.shape, dtype: x!.dtype }];
  };
}

/** Per row of length D: m = max (NaN-propagating), 0 where not finite; calls f(row offset, m, Σ exp(x − m)). */
function rowsLse(x: Float64Array, D: number, f: (at: number, m: number, s: number) => void): void {
  for (let at = 0; at < x.length; at += D) {
    let m = -Infinity;
    for (let i = 0; i < D; i++) m = Math.max(m, x[at + i]!);
    if (!Number.isFinite(m)) m = 0;
    let s = 0;
    for (let i = 0; i < D; i++) s += Math.exp(x[at + i]! - m);
    f(at, m, s);
  }
}

const lastDim = (shape: readonly number[]): number => shape[shape.length - 1]!;

/**
 * The backward of softmaxLast (log: false) and logSoftmaxLast (log: true) in
 * one pass, from the forward output y and the cotangent g:
 * y·(g − Σ g·y), or g − e^y·Σ g. Not differentiable (see the module comment).
 */
export const softmaxLastGradOp = defineOp<{ log: boolean }>({
  name: 'softmaxLastGrad',
  infer: ([y, g]) => {
    if (!isFloat(y!.dtype) || y!.dtype !== g!.dtype) throw new Error(`softmaxLastGrad: y and g must be floating tensors of one dtype, got ${y!.dtype} and ${g!.dtype}`);
    if (shapeStr(y!.shape) !== shapeStr(g!.shape)) throw new Error(`softmaxLastGrad: g is ${shapeStr(g!.shape)} but y is ${shapeStr(y!.shape)}`);
    if (y!.shape.length === 0) throw new Error('softmaxLastGrad: y must have at least one axis, got a 0-d tensor');
    return [{ shape: y!.shape, dtype: y!.dtype }];
  },
  ref: ([y, g], [m], a) => {
    const D = lastDim(m!.shape);
    const out = new Float64Array(y!.length);
    for (let at = 0; at < out.length; at += D) {
      let s = 0;
      for (let i = 0; i < D; i++) s += a.log ? g![at + i]! : g![at + i]! * y![at + i]!;
      for (let i = 0; i < D; i++) out[at + i] = a.log ? g![at + i]! - Math.exp(y![at + i]!) * s : y![at + i]! * (g![at + i]! - s);
    }
    return [out];
  },
  vjp: () => {
    throw new Error('softmaxLastGrad: this backward primitive is not differentiable; differentiate softmaxLast or logSoftmaxLast');
  },
  jvp: () => {
    throw new Error('softmaxLastGrad: this backward primitive has no JVP; differentiate softmaxLast or logSoftmaxLast');
  },
});

export const softmaxLastOp = defineOp<undefined>({
  name: 'softmaxLast',
  infer: lastAxisInfer('softmaxLast'),
  ref: ([x], [m]) => {
    const D = lastDim(m!.shape);
    const y = new Float64Array(x!.length);
    if (D > 0) rowsLse(x!, D, (at, mx, s) => {
      for (let i = 0; i < D; i++) y[at + i] = Math.exp(x![at + i]! - mx) / s;
    });
    return [y];
  },
  // ∂x = y ⊙ (g − Σ g·y)
  vjp: (ctx, [g]) => {
    const y = ctx.outputs[0]!;
    if (fastBackward() && g!.dtype === y.dtype) return apply(softmaxLastGradOp, [y, g!], { log: false });
    return [mul(y, sub(g!, sum(mul(g!, y), -1, true)))];
  },
  jvp: (ctx, [t]) => {
    const y = ctx.outputs[0]!;
    return [mul(y, sub(t!, sum(mul(t!, y), -1, true)))];
  },
  saveOutputs: true,
  saveInputs: false,
});

export const logSoftmaxLastOp = defineOp<undefined>({
  name: 'logSoftmaxLast',
  infer: lastAxisInfer('logSoftmaxLast'),
  ref: ([x], [m]) => {
    const D = lastDim(m!.shape);
    const y = new Float64Array(x!.length);
    if (D > 0) rowsLse(x!, D, (at, mx, s) => {
      const lse = Math.log(s) + mx;
      for (let i = 0; i < D; i++) y[at + i] = x![at + i]! - lse;
    });
    return [y];
  },
  // ∂x = g − softmax·Σg
  vjp: (ctx, [g]) => {
    const y = ctx.outputs[0]!;
    if (fastBackward() && g!.dtype === y.dtype) return apply(softmaxLastGradOp, [y, g!], { log: true });
    return [sub(g!, mul(exp(y), sum(g!, -1, true)))];
  },
  jvp: (ctx, [t]) => [sub(t!, sum(mul(exp(ctx.outputs[0]!), t!), -1, true))],
  saveOutputs: true,
  saveInputs: false,
});

function checkX(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.assertAlive(op, 'x');
}

/** Softmax over the last axis as one fused op (softmax(x, -1) calls it). */
export function softmaxLast(x: Tensor): Tensor {
  checkX('softmaxLast', x);
  return apply(softmaxLastOp, [x], undefined)[0]!;
}

/** Log-softmax over the last axis as one fused op (logSoftmax(x, -1) calls it). */
export function logSoftmaxLast(x: Tensor): Tensor {
  checkX('logSoftmaxLast', x);
  return apply(logSoftmaxLastOp, [x], undefined)[0]!;
}

// ---- layer norm, RMS norm ---------------------------------------------------------------

export interface NormAttrs {
  /** how many trailing axes are normalised together */
  k: number;
  eps: number;
  /** whether a weight (then a bias) input follows x */
  weight: boolean;
  bias: boolean;
}

const is16 = (d: DType): boolean => d === 'f16' || d === 'bf16';

/** Inputs [x, w?, b?] by the attrs. */
function normParts(ins: readonly Meta[], a: NormAttrs): { x: Meta; w?: Meta; b?: Meta } {
  let i = 1;
  return { x: ins[0]!, w: a.weight ? ins[i++] : undefined, b: a.bias ? ins[i++] : undefined };
}

/** Validate [x, w?, b?] against the attrs (a bias input only when `a.bias`). */
function checkNorm(op: string, ins: readonly Meta[], a: NormAttrs): { x: Meta; w?: Meta; b?: Meta; tail: number[] } {
  const want = 1 + (a.weight ? 1 : 0) + (a.bias ? 1 : 0);
  if (ins.length !== want) throw new Error(`${op}: expected ${want} inputs for weight=${a.weight}, bias=${a.bias}, got ${ins.length}`);
  const { x, w, b } = normParts(ins, a);
  if (!Number.isInteger(a.k) || a.k < 1 || a.k > x.shape.length) throw new Error(`${op}: k (normalised trailing axes) must be in 1..${x.shape.length} for x ${shapeStr(x.shape)}, got ${a.k}`);
  if (!(a.eps >= 0)) throw new Error(`${op}: eps must be a non-negative number, got ${a.eps}`);
  const tail = x.shape.slice(x.shape.length - a.k);
  for (const [name, p] of [['x', x], ['weight', w], ['bias', b]] as const) {
    if (p && !isFloat(p.dtype)) throw new Error(`${op}: ${name} must be a floating tensor, got ${p.dtype}`);
    if (p && p !== x && shapeStr(p.shape) !== shapeStr(tail)) throw new Error(`${op}: ${name} is ${shapeStr(p.shape)} but the normalised shape (x's last ${a.k} axes) is ${shapeStr(tail)}`);
  }
  return { x, w, b, tail };
}

/** Output dtype: a 16-bit x keeps its dtype (statistics are internal); otherwise x, w, b promote. */
function normDType(x: Meta, w?: Meta, b?: Meta): DType {
  if (is16(x.dtype)) return x.dtype;
  return [w, b].reduce<DType>((d, p) => (p ? arithmeticDType(d, p.dtype) : d), x.dtype);
}

/** The float64 reference of a norm: per row, y = x̂·w + b; optionally the backward sums too. */
function normRows(rms: boolean, x: Float64Array, D: number, eps: number, row: (at: number, mu: number, r: number) => void): void {
  for (let at = 0; at < x.length; at += D) {
    let mu = 0;
    if (!rms) {
      for (let i = 0; i < D; i++) mu += x[at + i]!;
      mu /= D;
    }
    let v = 0;
    for (let i = 0; i < D; i++) v += (x[at + i]! - mu) ** 2;
    row(at, mu, 1 / Math.sqrt(v / D + eps));
  }
}

/** Can the VJP use the fused backward primitive? Only when nothing records or pushes tangents through it. */
const fastBackward = (): boolean => !isGradEnabled() && jvpState.active.length === 0;

/** Mean over the trailing k axes, kept. */
const meanTail = (t: Tensor, axes: number[], D: number): Tensor => mul(sum(t, axes, true), 1 / D);

/**
 * The closed-form backward in tensor ops (differentiable): ∂x = r(ĝ − mean ĝ − x̂·mean(ĝx̂)),
 * ĝ = g·w, ∂w = Σ g·x̂, ∂b = Σ g over the leading axes. RMS norm: no mean terms, no bias.
 */
function normBackwardOps(rms: boolean, x: Tensor, w: Tensor | undefined, g: Tensor, a: NormAttrs): (Tensor | null)[] {
  const nd = x.ndim;
  const axes = Array.from({ length: a.k }, (_, i) => nd - a.k + i);
  const lead = Array.from({ length: nd - a.k }, (_, i) => i);
  const D = sizeOf(x.shape.slice(nd - a.k));
  const half = is16(x.dtype);
  const xf = half ? astype(x, 'f32') : x;
  const gf = half || g.dtype !== xf.dtype ? astype(g, xf.dtype) : g;
  const xc = rms ? xf : sub(xf, meanTail(xf, axes, D));
  const r = rsqrt(add(meanTail(square(xc), axes, D), a.eps));
  const xh = mul(xc, r);
  const gh = w ? mul(gf, w) : gf;
  let inner = sub(gh, mul(xh, meanTail(mul(gh, xh), axes, D)));
  if (!rms) inner = sub(inner, meanTail(gh, axes, D));
  const sumLead = (t: Tensor): Tensor => (lead.length ? sum(t, lead) : t);
  return [mul(inner, r), ...(w ? [sumLead(mul(gf, xh))] : []), ...(!rms && a.bias ? [sumLead(gf)] : [])];
}

function makeNorm(rms: boolean) {
  const name = rms ? 'rmsNormFused' : 'layerNormFused';
  const gradName = rms ? 'rmsNormGrad' : 'layerNormGrad';
  const fwd = defineOp<NormAttrs>({
    name,
    infer: (ins, a) => {
      if (rms && a.bias) throw new Error(`${name}: RMS norm has no bias`);
      const { x, w, b } = checkNorm(name, ins, a);
      return [{ shape: x.shape, dtype: normDType(x, w, b) }];
    },
    ref: (xs, ins, a) => {
      const { x } = normParts(ins, a);
      const D = sizeOf(x.shape.slice(x.shape.length - a.k));
      const [xv, wv, bv] = [xs[0]!, a.weight ? xs[1] : undefined, a.bias ? xs[a.weight ? 2 : 1] : undefined];
      const y = new Float64Array(xv.length);
      if (D > 0) normRows(rms, xv, D, a.eps, (at, mu, r) => {
        for (let i = 0; i < D; i++) y[at + i] = (xv[at + i]! - mu) * r * (wv ? wv[i]! : 1) + (bv ? bv[i]! : 0);
      });
      return [y];
    },
    vjp: (ctx: RuleCtx<NormAttrs>, [g]) => {
      const a = ctx.attrs;
      const x = ctx.inputs[0]!;
      const w = a.weight ? ctx.inputs[1] : undefined;
      const grads = fastBackward() ? apply(grad, [x, ...(w ? [w] : []), g!], a) : normBackwardOps(rms, x, w, g!, a);
      return grads;
    },
    jvp: (ctx: RuleCtx<NormAttrs>, tangents) => {
      const a = ctx.attrs;
      const x = ctx.inputs[0]!;
      const w = a.weight ? ctx.inputs[1] : undefined;
      const [tx, tw, tb] = [tangents[0], a.weight ? tangents[1] : null, a.bias ? tangents[a.weight ? 2 : 1] : null];
      const nd = x.ndim;
      const axes = Array.from({ length: a.k }, (_, i) => nd - a.k + i);
      const D = sizeOf(x.shape.slice(nd - a.k));
      const xc = rms ? x : sub(x, meanTail(x, axes, D));
      const r = rsqrt(add(meanTail(square(xc), axes, D), a.eps));
      const xh = mul(xc, r);
      const parts: Tensor[] = [];
      if (tx) {
        // ∂x̂·t = r(t − mean t − x̂·mean(t·x̂)) (no mean t for RMS norm)
        let d = sub(tx, mul(xh, meanTail(mul(tx, xh), axes, D)));
        if (!rms) d = sub(d, meanTail(tx, axes, D));
        d = mul(d, r);
        parts.push(w ? mul(d, w) : d);
      }
      if (tw) parts.push(mul(xh, tw));
      if (tb) parts.push(add(tb, mul(xh, 0)));
      if (parts.length === 0) return [null];
      return [parts.reduce((s, p) => add(s, p))];
    },
  });
  const grad = defineOp<NormAttrs>({
    name: gradName,
    // inputs [x, w?, g]; outputs [∂x, ∂w?, ∂b?]
    infer: (ins, a) => {
      const g = ins[ins.length - 1]!;
      const { x, w, tail } = checkNorm(gradName, ins.slice(0, -1), { ...a, bias: false });
      if (shapeStr(g.shape) !== shapeStr(x.shape)) throw new Error(`${gradName}: g is ${shapeStr(g.shape)} but x is ${shapeStr(x.shape)}`);
      const d = normDType(x, w);
      return [{ shape: x.shape, dtype: x.dtype }, ...(w ? [{ shape: tail, dtype: w.dtype }] : []), ...(!rms && a.bias ? [{ shape: tail, dtype: d }] : [])];
    },
    ref: (xs, ins, a) => {
      const x = ins[0]!;
      const D = sizeOf(x.shape.slice(x.shape.length - a.k));
      const [xv, wv, gv] = [xs[0]!, a.weight ? xs[1] : undefined, xs[xs.length - 1]!];
      const gx = new Float64Array(xv.length);
      const gw = new Float64Array(D);
      const gb = new Float64Array(D);
      if (D > 0) normRows(rms, xv, D, a.eps, (at, mu, r) => {
        let c1 = 0;
        let c2 = 0;
        for (let i = 0; i < D; i++) {
          const xh = (xv[at + i]! - mu) * r;
          const gh = gv[at + i]! * (wv ? wv[i]! : 1);
          c1 += gh;
          c2 += gh * xh;
          gw[i] += gv[at + i]! * xh;
          gb[i] += gv[at + i]!;
        }
        c1 = rms ? 0 : c1 / D;
        c2 /= D;
        for (let i = 0; i < D; i++) {
          const xh = (xv[at + i]! - mu) * r;
          gx[at + i] = r * (gv[at + i]! * (wv ? wv[i]! : 1) - c1 - xh * c2);
        }
      });
      return [gx, ...(a.weight ? [gw] : []), ...(!rms && a.bias ? [gb] : [])];
    },
    vjp: () => {
      throw new Error(`${gradName}: this backward primitive is not differentiable; differentiate ${name} (its VJP uses a differentiable form when the backward pass is recorded)`);
    },
    jvp: () => {
      throw new Error(`${gradName}: this backward primitive has no JVP; differentiate ${name} instead`);
    },
  });
  return { fwd, grad };
}

const ln = makeNorm(false);
const rn = makeNorm(true);
export const layerNormFusedOp = ln.fwd;
export const layerNormGradOp = ln.grad;
export const rmsNormFusedOp = rn.fwd;
export const rmsNormGradOp = rn.grad;

function checkParam(op: string, name: string, p: unknown): Tensor | undefined {
  if (p === null || p === undefined) return undefined;
  if (!(p instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor or null, got ${typeof p}`);
  p.assertAlive(op, name);
  return p;
}

/** Layer norm over the last `k` axes of x as one fused op: (x − μ)/√(σ² + ε)·weight + bias (either may be null). */
export function layerNormFused(x: Tensor, k: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  checkX('layerNormFused', x);
  const w = checkParam('layerNormFused', 'weight', weight);
  const b = checkParam('layerNormFused', 'bias', bias);
  return apply(layerNormFusedOp, [x, ...(w ? [w] : []), ...(b ? [b] : [])], { k, eps, weight: !!w, bias: !!b })[0]!;
}

/** RMS norm over the last `k` axes of x as one fused op: x/√(mean x² + ε)·weight (weight may be null). */
export function rmsNormFused(x: Tensor, k: number, weight: Tensor | null = null, eps = 1e-6): Tensor {
  checkX('rmsNormFused', x);
  const w = checkParam('rmsNormFused', 'weight', weight);
  return apply(rmsNormFusedOp, [x, ...(w ? [w] : [])], { k, eps, weight: !!w, bias: false })[0]!;
}

/** The backward of `layerNormFused` in one pass: [∂x, ∂weight (if weight), ∂bias (if hasBias)] from the cotangent g. Not differentiable. */
export function layerNormGrad(x: Tensor, k: number, weight: Tensor | null, hasBias: boolean, g: Tensor, eps = 1e-5): Tensor[] {
  checkX('layerNormGrad', x);
  const w = checkParam('layerNormGrad', 'weight', weight);
  if (!(g instanceof Tensor)) throw new Error('layerNormGrad: g must be a Tensor');
  return apply(layerNormGradOp, [x, ...(w ? [w] : []), g], { k, eps, weight: !!w, bias: hasBias });
}

/** The backward of softmax over the last axis (or of log-softmax with `log`) in one pass, from its output y and the cotangent g. Not differentiable. */
export function softmaxLastGrad(y: Tensor, g: Tensor, log = false): Tensor {
  checkX('softmaxLastGrad', y);
  if (!(g instanceof Tensor)) throw new Error('softmaxLastGrad: g must be a Tensor');
  g.assertAlive('softmaxLastGrad', 'g');
  return apply(softmaxLastGradOp, [y, g], { log })[0]!;
}

/** The backward of `rmsNormFused` in one pass: [∂x, ∂weight (if weight)]. Not differentiable. */
export function rmsNormGrad(x: Tensor, k: number, weight: Tensor | null, g: Tensor, eps = 1e-6): Tensor[] {
  checkX('rmsNormGrad', x);
  const w = checkParam('rmsNormGrad', 'weight', weight);
  if (!(g instanceof Tensor)) throw new Error('rmsNormGrad: g must be a Tensor');
  return apply(rmsNormGradOp, [x, ...(w ? [w] : []), g], { k, eps, weight: !!w, bias: false });
}
