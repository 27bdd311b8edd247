/**
 * Custom derivative rules, for fused kernels and estimators whose gradient is
 * not the derivative of their forward computation (straight-through, rotation
 * trick), or whose gradient is cheaper to write by hand.
 *
 * customVjp(forward, backward): forward(...xs) runs without recording and
 * returns the output(s) and whatever it wants to save; backward(saved, cts)
 * returns one cotangent (or null) per input. With createGraph the backward is
 * recorded like any VJP rule, so it can be differentiated again if written in ops.
 *
 * customJvp(f, rule): forward mode uses rule(primals, tangents); reverse mode
 * differentiates f as usual.
 */
import { Tensor } from '../core/tensor.js';
import { Node, isGradEnabled, jvpState, noGrad } from './tape.js';
import { aliasOf, edgeOf } from '../ops/apply.js';
import { keep, tidy } from '../core/memory.js';
import { isFloat } from '../core/dtype.js';
import { defineOp } from '../ops/registry.js';

export interface CustomForward {
  out: Tensor | Tensor[];
  /** tensors the backward needs (they are kept alive by the tape until backward runs) */
  saved?: Tensor[];
}

export type CustomBackward = (saved: Tensor[], cts: (Tensor | null)[], inputs: Tensor[]) => (Tensor | null)[];

/** Run `fn` with every forward-mode level hidden, so it computes plain values. */
function withoutTangents<R>(fn: () => R): R {
  const hidden = jvpState.active.filter((l) => !jvpState.suspended.has(l));
  hidden.forEach((l) => jvpState.suspended.add(l));
  try {
    return fn();
  } finally {
    hidden.forEach((l) => jvpState.suspended.delete(l));
  }
}

export function customVjp(name: string, forward: (...xs: Tensor[]) => CustomForward, backward: CustomBackward): (...xs: Tensor[]) => Tensor | Tensor[] {
  const op = defineOp<{ saved: Tensor[]; n: number }>({
    name,
    infer: () => {
      throw new Error(`${name}: custom ops are not dispatched`);
    },
    vjp: (ctx, cts) => backward(ctx.attrs.saved, cts as (Tensor | null)[], ctx.inputs.slice(0, ctx.attrs.n) as Tensor[]),
    jvp: 'none',
  });
  return (...xs: Tensor[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor)) throw new Error(`${name}: input ${i} must be a Tensor`);
      x.assertAlive(name, `input ${i}`);
    });
    if (jvpState.active.some((l) => !jvpState.suspended.has(l) && xs.some((x) => x.tangents?.has(l)))) {
      throw new Error(`${name}: has a custom VJP but no JVP rule, so it cannot be used inside jvp()`);
    }
    const { outs, saved, single } = tidy(() => {
      const r = noGrad(() => withoutTangents(() => forward(...xs)));
      const single = !Array.isArray(r.out);
      const outs = (Array.isArray(r.out) ? r.out : [r.out]).map((o) => o.detach());
      const saved = (r.saved ?? []).map((s) => keep(s.detach()));
      return { outs, saved, single };
    });
    if (isGradEnabled() && xs.some((x) => x.requiresGrad && isFloat(x.dtype))) {
      const inputs = xs.map((x) => aliasOf(x));
      const node = new Node(
        op as never,
        { saved, n: xs.length },
        xs.map(edgeOf),
        xs.map((x) => ({ shape: x.shape, dtype: x.dtype })),
        outs.map((o) => ({ shape: o.shape, dtype: o.dtype })),
        { inputs: [...inputs, ...saved], outputs: [] },
      );
      outs.forEach((o, k) => o.setNode(node, k));
    } else saved.forEach((s) => s.dispose());
    return single ? outs[0]! : outs;
  };
}

/** Give `f` a hand-written forward-mode rule: rule(primals, tangents) → output tangent. */
export function customJvp(f: (...xs: Tensor[]) => Tensor, rule: (primals: Tensor[], tangents: (Tensor | null)[]) => Tensor): (...xs: Tensor[]) => Tensor {
  return (...xs: Tensor[]) => {
    const levels = jvpState.active.filter((l) => !jvpState.suspended.has(l) && xs.some((x) => x.tangents?.has(l)));
    if (levels.length === 0) return f(...xs);
    const y = withoutTangents(() => f(...xs));
    for (const level of levels) {
      const tin = xs.map((x) => x.tangents?.get(level) ?? null);
      jvpState.suspended.add(level);
      try {
        const t = tidy(() => rule(xs, tin));
        (y.tangents ??= new Map()).set(level, keep(t === tin.find((u) => u === t) ? aliasOf(t, false) : t));
      } finally {
        jvpState.suspended.delete(level);
      }
    }
    return y;
  };
}
