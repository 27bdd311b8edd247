/**
 * Forward mode with dual numbers: `jvp(f, primals, tangents)` evaluates f and
 * its directional derivative ∇f(x)·v in one pass. Each call opens a new level;
 * tensors carry one tangent per level, so jvp nests (and mixes with reverse
 * mode) without perturbation confusion.
 */
import type { Tensor } from '../core/tensor.js';
import { jvpState } from './tape.js';
import { keep, tidy } from '../core/memory.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { identity, zerosLike } from '../ops/index.js';

export function jvp<R extends Tensor | Tensor[]>(
  f: (...args: Tensor[]) => R,
  primals: Tensor[],
  tangents: Tensor[],
): [R, R] {
  if (primals.length !== tangents.length) throw new Error(`jvp: got ${primals.length} primals but ${tangents.length} tangents`);
  primals.forEach((p, i) => {
    const t = tangents[i]!;
    p.assertAlive('jvp', `primals[${i}]`);
    t.assertAlive('jvp', `tangents[${i}]`);
    if (!shapesEqual(p.shape, t.shape)) throw new Error(`jvp: tangents[${i}] is ${shapeStr(t.shape)} but primals[${i}] is ${shapeStr(p.shape)}`);
  });
  const level = jvpState.next++;
  jvpState.active.push(level);
  try {
    return tidy(() => {
      const xs = primals.map((p, i) => {
        const x = identity(p);
        (x.tangents ??= new Map()).set(level, keep(identity(tangents[i]!)));
        return x;
      });
      const out = f(...xs);
      const outs = Array.isArray(out) ? out : [out];
      const touts = outs.map((o) => {
        const t = o.tangents?.get(level);
        return t ? identity(t) : zerosLike(o);
      });
      // strip this level's tangents from the outputs: they are returned separately
      for (const o of outs) {
        const t = o.tangents?.get(level);
        if (t) {
          o.tangents!.delete(level);
          t.dispose();
        }
      }
      return [out, (Array.isArray(out) ? touts : touts[0]) as R] as [R, R];
    });
  } finally {
    jvpState.active.splice(jvpState.active.indexOf(level), 1);
  }
}

/** Directional derivative only. */
export function jvpOnly(f: (...args: Tensor[]) => Tensor, primals: Tensor[], tangents: Tensor[]): Tensor {
  const [y, t] = jvp(f, primals, tangents);
  y.dispose();
  return t;
}
