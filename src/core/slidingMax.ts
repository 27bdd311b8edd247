/**
 * Sliding-window maximum and minimum in O(n), independent of the window size.
 *
 * Algorithm: the monotonic deque of D. Lemire, "Streaming maximum-minimum
 * filter using no more than three comparisons per element" (Nordic Journal of
 * Computing, 2006). The deque holds the indices of the window's elements that
 * can still become its maximum, in increasing index order and (weakly)
 * decreasing value order. A new element evicts, from the back, every element
 * it beats (they can never be a maximum again, since the new element is
 * larger and stays in every later window at least as long); expired indices
 * leave from the front; the front is the current window's maximum. Each
 * element is pushed and popped at most once, and each push performs at most
 * one value comparison that does not pop, so the number of value comparisons
 * is < 2n for any window size (Lemire's bound of 3 per element covers max and
 * min together; here each direction is computed separately).
 *
 * Conventions:
 * - Windows are [i·stride, i·stride + k) for i = 0 .. floor((n − k)/stride),
 *   i.e. only complete windows ("valid" mode).
 * - Ties resolve to the FIRST extremal index in the window: an element only
 *   evicts strictly smaller (resp. larger) ones, so an earlier equal value
 *   stays in front of a later one.
 * - NaN propagates: NaN is treated as greater than +Infinity for the maximum
 *   (and less than −Infinity for the minimum), so any window containing a NaN
 *   has value NaN and `argmax` is the index of its first NaN (the same as
 *   NumPy's `max`/`argmax`).
 */

/** Result of a sliding-window extremum. */
export interface SlidingWindowResult {
  /** values[i] is the extremum of window i. */
  values: Float64Array;
  /** argmax[i] is the index into the input of that extremum (first one on ties). */
  argmax: Int32Array;
}

/** Optional instrumentation: receives the number of value comparisons performed. */
export interface SlidingWindowStats {
  comparisons: number;
}

function checkArgs(fn: string, n: number, k: number, stride: number): number {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`${fn}: window size k must be a positive integer, got ${k}`);
  }
  if (k > n) {
    throw new Error(`${fn}: window size k (${k}) must be at most the input length (${n})`);
  }
  if (!Number.isInteger(stride) || stride < 1) {
    throw new Error(`${fn}: stride must be a positive integer, got ${stride}`);
  }
  return Math.floor((n - k) / stride) + 1;
}

/**
 * Shared implementation. `sign` = 1 computes the maximum, −1 the minimum
 * (values are compared as sign·x, so a single code path serves both; NaN
 * stays NaN under negation and is handled explicitly).
 */
function slidingExtremum(
  fn: string,
  x: Float64Array | Float32Array,
  k: number,
  stride: number,
  out: Float64Array | undefined,
  stats: SlidingWindowStats | undefined,
  sign: 1 | -1,
): SlidingWindowResult {
  const n = x.length;
  const count = checkArgs(fn, n, k, stride);
  if (out !== undefined && out.length !== count) {
    throw new Error(`${fn}: out has length ${out.length}, expected ${count} windows`);
  }
  const values = out ?? new Float64Array(count);
  const argmax = new Int32Array(count);

  // Ring buffer deque of indices: at most k live entries, since every entry
  // belongs to the window ending at the newest element.
  const deque = new Int32Array(k);
  let head = 0; // position of the front entry in `deque`
  let size = 0;
  let comparisons = 0;

  // Windows overlap when stride ≤ k; otherwise the elements between windows
  // belong to none and are skipped (the deque is reset for each window).
  let next = 0; // next input index to push
  for (let w = 0; w < count; w++) {
    const start = w * stride;
    const end = start + k;
    if (next < start) {
      next = start;
      size = 0;
    }
    for (; next < end; next++) {
      // Drop the front if it falls out of the window ending at `next`. Before
      // this push the deque holds indices in (next − 1 − k, next − 1], so at
      // most one index (next − k) can expire, and it would be the front.
      if (size > 0 && deque[head] <= next - k) {
        head = head + 1 === k ? 0 : head + 1;
        size--;
      }
      const v = sign * x[next];
      const vIsNaN = v !== v;
      // Evict from the back every element the new one beats: a strictly
      // smaller number, or any number when the new value is NaN. Equal
      // values and earlier NaNs stay, so the first extremal index wins.
      while (size > 0) {
        let back = head + size - 1;
        if (back >= k) back -= k;
        const b = sign * x[deque[back]];
        comparisons++;
        // For a number v, `!(b < v)` also stops at a NaN b (NaN is never evicted by a number).
        if (vIsNaN ? b !== b : !(b < v)) break;
        size--;
      }
      let slot = head + size;
      if (slot >= k) slot -= k;
      deque[slot] = next;
      size++;
    }
    // The deque now holds only indices in [start, end): its front is the answer.
    const best = deque[head];
    argmax[w] = best;
    values[w] = x[best];
  }
  if (stats !== undefined) stats.comparisons = comparisons;
  return { values, argmax };
}

/**
 * Maximum of every window [i·stride, i·stride + k) of `x`, in O(n) time for
 * any k (Lemire's monotonic deque). Returns the maxima and, in `argmax`, the
 * index of the first maximal element of each window. A window containing NaN
 * yields NaN with `argmax` at its first NaN. Output length is
 * floor((n − k)/stride) + 1; requires 1 ≤ k ≤ n and stride ≥ 1. If given,
 * `out` (of exactly that length) receives the values. If given, `stats`
 * receives the number of value comparisons made (always < 2n).
 */
export function slidingWindowMax(
  x: Float64Array | Float32Array,
  k: number,
  stride = 1,
  out?: Float64Array,
  stats?: SlidingWindowStats,
): SlidingWindowResult {
  return slidingExtremum('slidingWindowMax', x, k, stride, out, stats, 1);
}

/**
 * Minimum of every window [i·stride, i·stride + k) of `x`; the mirror image of
 * `slidingWindowMax` (first minimal index on ties; NaN propagates, `argmax`
 * holds the index of the minimum — the field keeps its name for a uniform
 * result type).
 */
export function slidingWindowMin(
  x: Float64Array | Float32Array,
  k: number,
  stride = 1,
  out?: Float64Array,
  stats?: SlidingWindowStats,
): SlidingWindowResult {
  return slidingExtremum('slidingWindowMin', x, k, stride, out, stats, -1);
}
