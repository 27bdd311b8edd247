/**
 * The exact 2-Wasserstein distance between two empirical measures of equal
 * size n: W₂² = min over permutations π of (1/n)·Σᵢ‖xᵢ − y_π(i)‖² (an optimal
 * coupling of uniform measures on n points is a permutation, by Birkhoff's
 * theorem). The assignment is solved by the Hungarian method (Kuhn 1955;
 * Munkres 1957) in its O(n³) shortest-augmenting-path form with dual
 * potentials (Jonker & Volgenant 1987 style): rows are added one at a time
 * and a Dijkstra-like scan over reduced costs finds each augmenting path.
 * Meant for small sets (n ≤ 2000): the "exact 2-D W2".
 */
import type { Tensor } from '../../core/tensor.js';
import { asPoints, type Points } from './sample.js';

/** Minimum-cost perfect matching of an n×n cost matrix (row-major); returns col[i] for each row i and the total cost. */
export function linearAssignment(cost: Float64Array, n: number): { assignment: Int32Array; cost: number } {
  if (cost.length !== n * n) throw new Error(`linearAssignment: the cost matrix has ${cost.length} entries, expected ${n}×${n}`);
  const INF = Infinity;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  // p[j]: the row (1-based) matched to column j; column 0 is a virtual start
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(INF);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = INF;
      let j1 = 0;
      const row = (i0 - 1) * n;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[row + j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      // shift the potentials so the new tight edge enters the equality subgraph
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    // flip the augmenting path
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const assignment = new Int32Array(n);
  let total = 0;
  for (let j = 1; j <= n; j++) {
    assignment[p[j]! - 1] = j - 1;
    total += cost[(p[j]! - 1) * n + j - 1]!;
  }
  return { assignment, cost: total };
}

/** Exact W₂ between two equal-size sample sets (n ≤ 2000), and the optimal matching. */
export function wasserstein2(x: Tensor | Points, y: Tensor | Points): { distance: number; assignment: Int32Array } {
  const a = asPoints('wasserstein2', x);
  const b = asPoints('wasserstein2', y);
  if (a.n !== b.n) throw new Error(`wasserstein2: the exact distance needs sets of equal size, got ${a.n} and ${b.n} (subsample, or use slicedWasserstein)`);
  if (a.d !== b.d) throw new Error(`wasserstein2: the sample sets have dimensions ${a.d} and ${b.d}`);
  if (a.n > 2000) throw new Error(`wasserstein2: ${a.n} points is too many for the O(n³) exact solver (at most 2000)`);
  const n = a.n;
  const d = a.d;
  const cost = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = a.data[i * d + k]! - b.data[j * d + k]!;
        s += t * t;
      }
      cost[i * n + j] = s;
    }
  }
  const r = linearAssignment(cost, n);
  return { distance: Math.sqrt(r.cost / n), assignment: r.assignment };
}
