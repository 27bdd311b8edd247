/**
 * An independent float64 reference for softmax attention maps, in plain
 * loops over numbers read out of a module's weights: q = x W_qᵀ, k = x W_kᵀ,
 * rotary embeddings in the half-split layout (GPT-NeoX; what
 * MultiHeadAttention uses), P = softmax(q kᵀ/√d) over the keys j ≤ i.
 * Shared by the attention tests and the playground's attention-map tests.
 */

export interface MapRefConfig {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** rotary channels r (0: no rotary) and base */
  ropeDim: number;
  ropeBase: number;
  causal: boolean;
}

/** x (n, d) row-major, W (out, d) row-major → x Wᵀ (n, out). */
export function project(x: Float64Array, n: number, d: number, W: Float64Array): Float64Array {
  const out = W.length / d;
  const y = new Float64Array(n * out);
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[t * d + c]! * W[o * d + c]!;
      y[t * out + o] = s;
    }
  }
  return y;
}

/** Rotate one head's vector (length hd, at offset `at` of `row`) in place: pairs (i, i + r/2) by angle p·base^(−2i/r). */
function rotate(row: Float64Array, at: number, p: number, r: number, base: number): void {
  const half = r / 2;
  for (let i = 0; i < half; i++) {
    const angle = p * base ** ((-2 * i) / r);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const a = row[at + i]!;
    const b = row[at + i + half]!;
    row[at + i] = a * c - b * s;
    row[at + i + half] = b * c + a * s;
  }
}

/**
 * The attention maps of one sequence x (n, d) under the weights W_q (h·hd, d)
 * and W_k (h_kv·hd, d): one Float64Array (n·n, row i = query i) per query head.
 */
export function softmaxMapsRef(x: Float64Array, n: number, d: number, Wq: Float64Array, Wk: Float64Array, c: MapRefConfig): Float64Array[] {
  const q = project(x, n, d, Wq);
  const k = project(x, n, d, Wk);
  const { heads, kvHeads, headDim: hd } = c;
  if (c.ropeDim > 0) {
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < heads; i++) rotate(q, t * heads * hd + i * hd, t, c.ropeDim, c.ropeBase);
      for (let i = 0; i < kvHeads; i++) rotate(k, t * kvHeads * hd + i * hd, t, c.ropeDim, c.ropeBase);
    }
  }
  return Array.from({ length: heads }, (_, i) => {
    const g = Math.floor((i * kvHeads) / heads); // the key/value head this query head reads
    const P = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      const last = c.causal ? a : n - 1;
      let m = -Infinity;
      const s = new Float64Array(last + 1);
      for (let b = 0; b <= last; b++) {
        let dot = 0;
        for (let e = 0; e < hd; e++) dot += q[a * heads * hd + i * hd + e]! * k[b * kvHeads * hd + g * hd + e]!;
        s[b] = dot / Math.sqrt(hd);
        m = Math.max(m, s[b]!);
      }
      let z = 0;
      for (let b = 0; b <= last; b++) z += Math.exp(s[b]! - m);
      for (let b = 0; b <= last; b++) P[a * n + b] = Math.exp(s[b]! - m) / z;
    }
    return P;
  });
}
