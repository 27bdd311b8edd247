/**
 * The parallel form of a first-order linear recurrence hₜ = aₜ hₜ₋₁ + bₜ
 * (h₋₁ = 0): a prefix scan under the associative operator on pairs
 *
 *   (a₁, b₁) ∘ (a₂, b₂) = (a₁a₂, a₂b₁ + b₂)        (apply step 1, then step 2)
 *
 * (G. E. Blelloch, "Prefix sums and their applications", CMU-CS-90-190, 1990;
 * its use for linear RNNs and SSMs: E. Martin and C. Cundy, arXiv 1709.04057,
 * and Mamba, A. Gu and T. Dao, arXiv 2312.00752 §3.3). The scan is the
 * odd/even recursion: combine neighbouring pairs, scan the half-length
 * sequence of pairs, then fill the even positions from the odd ones. Work is
 * O(L) and depth O(log L): each level is a handful of whole-tensor ops, which
 * is what a parallel machine (or a GPU) runs well, and autodiff differentiates
 * it like any other composite.
 *
 * The complex form (for the LRU's diagonal complex recurrence) carries a and
 * b as (re, im) pairs of real tensors and multiplies them as complex numbers.
 */
import type { Tensor } from '../../core/tensor.js';
import { normAxis, shapeStr, shapesEqual } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { add, exp, mul, silu, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { slice, type SliceSpec } from '../../ops/slice.js';
import { concat, stack } from '../../ops/join.js';
import { onesLike, zerosLike } from '../../ops/creation.js';
import { reshape, unsqueeze } from '../../ops/views.js';
import { stepSizes, type SelectiveScanInputs, type SelectiveScanOptions } from './selectiveScan.ref.js';

/** An element of the scan: a tuple of same-shaped tensors (a, b), or (aRe, aIm, bRe, bIm). */
type Elem = Tensor[];
type Combine = (first: Elem, second: Elem) => Elem;

const along = (axis: number, spec: SliceSpec): SliceSpec[] => [...new Array<SliceSpec>(axis).fill(null), spec];

function part(x: Tensor, axis: number, start: number, step: number, stop?: number): Tensor {
  return slice(x, along(axis, { start, step, stop }));
}

/** Inclusive scan of `xs` along `axis` under `combine`; `identity` builds the neutral element like a given one. */
function scan(xs: Elem, axis: number, combine: Combine, identity: (like: Elem) => Elem): Elem {
  const L = xs[0]!.shape[axis]!;
  if (L === 1) return xs;
  // pad an odd length with the neutral element so that positions pair up
  const padded = L % 2 === 1 ? xs.map((x, k) => concat([x, identity(xs.map((y) => part(y, axis, L - 1, 1)))[k]!], axis)) : xs;
  const even = padded.map((x) => part(x, axis, 0, 2));
  const odd = padded.map((x) => part(x, axis, 1, 2));
  // prefixes ending at every odd position 2i+1
  const oddScan = scan(combine(even, odd), axis, combine, identity);
  // position 0 is itself; position 2i (i ≥ 1) is the prefix up to 2i−1 followed by step 2i
  const n2 = even[0]!.shape[axis]!;
  const evenScan = n2 === 1 ? even : even.map((e, k) => {
    const first = part(e, axis, 0, 1, 1);
    const rest = combine(oddScan.map((o) => part(o, axis, 0, 1, n2 - 1)), even.map((x) => part(x, axis, 1, 1)))[k]!;
    return concat([first, rest], axis);
  });
  // interleave evens and odds back into one axis, then drop the padding
  return evenScan.map((e, k) => {
    const both = stack([e, oddScan[k]!], axis + 1);
    const shape = e.shape.slice();
    shape[axis] = 2 * n2;
    const merged = reshape(both, shape);
    return merged.shape[axis] === L ? merged : part(merged, axis, 0, 1, L);
  });
}

function checkPair(op: string, a: Tensor, b: Tensor): void {
  if (!shapesEqual(a.shape, b.shape)) throw new Error(`${op}: a is ${shapeStr(a.shape)} but b is ${shapeStr(b.shape)}; they must match`);
  if (a.ndim === 0) throw new Error(`${op}: a and b must have at least one axis`);
}

/** hₜ = aₜ hₜ₋₁ + bₜ along `axis`, by the parallel (associative) scan. Equals `linearRecurrence(a, b, axis)`. */
export function associativeScan(a: Tensor, b: Tensor, axis: number): Tensor {
  checkPair('associativeScan', a, b);
  const ax = normAxis('associativeScan', axis, a.ndim);
  return tidy(() => {
    const combine: Combine = ([a1, b1], [a2, b2]) => [mul(a1!, a2!), add(mul(a2!, b1!), b2!)];
    return scan([a, b], ax, combine, ([x]) => [onesLike(x!), zerosLike(x!)])[1]!;
  });
}

/** The complex recurrence hₜ = aₜ hₜ₋₁ + bₜ with complex a, b given as (re, im): returns [Re h, Im h]. */
export function complexAssociativeScan(aRe: Tensor, aIm: Tensor, bRe: Tensor, bIm: Tensor, axis: number): [Tensor, Tensor] {
  for (const [x, y] of [[aRe, aIm], [aRe, bRe], [aRe, bIm]] as const) checkPair('complexAssociativeScan', x, y);
  const ax = normAxis('complexAssociativeScan', axis, aRe.ndim);
  return tidy(() => {
    const cmul = (xr: Tensor, xi: Tensor, yr: Tensor, yi: Tensor): [Tensor, Tensor] => [sub(mul(xr, yr), mul(xi, yi)), add(mul(xr, yi), mul(xi, yr))];
    const combine: Combine = ([ar1, ai1, br1, bi1], [ar2, ai2, br2, bi2]) => {
      const [ar, ai] = cmul(ar1!, ai1!, ar2!, ai2!);
      const [pr, pi] = cmul(ar2!, ai2!, br1!, bi1!);
      return [ar, ai, add(pr, br2!), add(pi, bi2!)];
    };
    const out = scan([aRe, aIm, bRe, bIm], ax, combine, ([x]) => [onesLike(x!), zerosLike(x!), zerosLike(x!), zerosLike(x!)]);
    return [out[2]!, out[3]!];
  });
}

/**
 * The selective scan (selectiveScan.ref.ts) in its parallel form: Āₜ and
 * Δₜuₜ Bₜ for every step, then one associative scan over L. Returns
 * [out (b, L, d), last state (b, d, N)].
 */
export function selectiveScanParallel(x: SelectiveScanInputs, opts: SelectiveScanOptions = {}): [Tensor, Tensor] {
  return tidy(() => {
    const delta = stepSizes(x.delta, x.deltaBias, opts.deltaSoftplus ?? false);
    const dA = exp(mul(unsqueeze(delta, -1), x.A)); // (b, L, d, N)
    const dBu = mul(unsqueeze(mul(delta, x.u), -1), unsqueeze(x.B, 2)); // (b, L, d, N)
    const h = associativeScan(dA, dBu, 1); // (b, L, d, N)
    let y = sum(mul(h, unsqueeze(x.C, 2)), -1); // (b, L, d)
    if (x.D) y = add(y, mul(x.u, x.D));
    if (x.z) y = mul(y, silu(x.z));
    const L = h.shape[1]!;
    return [y, slice(h, [null, L - 1])];
  });
}
