/**
 * FlashAttention's forward and backward passes as plain TypeScript loops over
 * raw arrays (float32 or float64 storage, float64 arithmetic): the readable
 * statement of the tiled algorithm, the kernel for float64 tensors, and the
 * twin the WebAssembly SIMD kernel (backends/cpu/wasm/flash.kernel.ts) is
 * tested against.
 *
 * T. Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention
 * with IO-Awareness", arXiv 2205.14135; T. Dao, "FlashAttention-2", arXiv
 * 2307.08691, Algorithm 1 (forward) and Algorithm 2 (backward):
 *
 * Forward, per query block Q_i (Br rows), over key blocks K_j, V_j (Bc rows):
 *   S = scale·Q_i K_jᵀ,  m_new = max(m, rowmax S),  P̃ = exp(S − m_new),
 *   ℓ ← e^{m − m_new}·ℓ + rowsum P̃,  O ← e^{m − m_new}·O + P̃ V_j,  m ← m_new;
 *   at the end O ← O/ℓ and the logsumexp L = m + log ℓ is saved.
 * Backward, per key block (dK_j, dV_j accumulate in a block buffer), over the
 * query blocks that see it, with D = rowsum(dO ∘ O):
 *   P = exp(scale·Q_i K_jᵀ − L_i),  dV_j += Pᵀ dO_i,  dP = dO_i V_jᵀ,
 *   dS = P ∘ (dP − D_i),  dQ_i += scale·dS K_j,  dK_j += scale·dSᵀ Q_i.
 *
 * Causal: with nq queries being the last positions of nk keys, query i sees
 * key j ≤ i + nk − nq. Key blocks entirely above the diagonal are never
 * visited (the loops stop at the block's last visible key); in the blocks that
 * cross the diagonal each row stops at its own last key. Block sizes need not
 * divide n (the last block is short). Never is an (nq, nk) array formed: the
 * scratch is O(Br·Bc + Br·dv) here and O(n·d) per head for dQ.
 */

export type Arr = Float32Array | Float64Array;

/** An array and the element offset of a contiguous (b, heads, n, width) tensor in it. */
export interface Buf {
  a: Arr;
  off: number;
}

export interface FlashDims {
  b: number;
  /** query heads; key/value heads are `hkv` (h a multiple of hkv: grouped-query attention) */
  h: number;
  hkv: number;
  nq: number;
  nk: number;
  /** query/key width */
  d: number;
  /** value width */
  dv: number;
  scale: number;
  causal: boolean;
  blockQ: number;
  blockK: number;
}

/** Where head (bi, hi)'s rows start in each tensor. */
function heads(p: FlashDims, bh: number): { q: number; kv: number } {
  const bi = Math.floor(bh / p.h);
  const hi = bh % p.h;
  return { q: bh, kv: bi * p.hkv + Math.floor(hi / (p.h / p.hkv)) };
}

/** Forward: writes O (b, h, nq, dv) and the logsumexp L (b, h, nq). */
export function flashForwardTs(q: Buf, k: Buf, v: Buf, o: Buf, lse: Buf, p: FlashDims): void {
  const { nq, nk, d, dv, scale, causal, blockQ: Br, blockK: Bc } = p;
  const shift = nk - nq;
  const s = new Float64Array(Br * Bc);
  const m = new Float64Array(Br);
  const l = new Float64Array(Br);
  const acc = new Float64Array(Br * dv);
  const Q = q.a, K = k.a, V = v.a, O = o.a, L = lse.a;
  for (let bh = 0; bh < p.b * p.h; bh++) {
    const hd = heads(p, bh);
    const qo = q.off + hd.q * nq * d;
    const ko = k.off + hd.kv * nk * d;
    const vo = v.off + hd.kv * nk * dv;
    const oo = o.off + hd.q * nq * dv;
    const lo = lse.off + hd.q * nq;
    for (let i0 = 0; i0 < nq; i0 += Br) {
      const rows = Math.min(Br, nq - i0);
      m.fill(-Infinity, 0, rows);
      l.fill(0, 0, rows);
      acc.fill(0, 0, rows * dv);
      // causal: key blocks past the last query's last key are skipped, not masked
      const jEnd = causal ? Math.min(nk, i0 + rows + shift) : nk;
      for (let j0 = 0; j0 < jEnd; j0 += Bc) {
        const j1 = Math.min(jEnd, j0 + Bc);
        for (let r = 0; r < rows; r++) {
          const i = i0 + r;
          const jr = causal ? Math.min(j1, i + shift + 1) : j1;
          if (jr <= j0) continue;
          const qi = qo + i * d;
          let mx = -Infinity;
          for (let j = j0; j < jr; j++) {
            const kj = ko + j * d;
            let dot = 0;
            for (let c = 0; c < d; c++) dot += Q[qi + c]! * K[kj + c]!;
            const sij = scale * dot;
            s[r * Bc + j - j0] = sij;
            if (sij > mx) mx = sij;
          }
          const mNew = Math.max(m[r]!, mx);
          const alpha = Math.exp(m[r]! - mNew); // 0 on the first block (m = −∞)
          const ar = r * dv;
          for (let c = 0; c < dv; c++) acc[ar + c]! *= alpha;
          let rowSum = 0;
          for (let j = j0; j < jr; j++) {
            const pij = Math.exp(s[r * Bc + j - j0]! - mNew);
            rowSum += pij;
            const vj = vo + j * dv;
            for (let c = 0; c < dv; c++) acc[ar + c]! += pij * V[vj + c]!;
          }
          l[r] = alpha * l[r]! + rowSum;
          m[r] = mNew;
        }
      }
      for (let r = 0; r < rows; r++) {
        const inv = 1 / l[r]!;
        const oi = oo + (i0 + r) * dv;
        for (let c = 0; c < dv; c++) O[oi + c] = acc[r * dv + c]! * inv;
        L[lo + i0 + r] = m[r]! + Math.log(l[r]!);
      }
    }
  }
}

/**
 * Backward: given dO, writes dQ (b, h, nq, d), dK (b, hkv, nk, d) and dV
 * (b, hkv, nk, dv). dk and dv must be zero on entry (grouped query heads add
 * into their shared key/value head).
 */
export function flashBackwardTs(q: Buf, k: Buf, v: Buf, o: Buf, lse: Buf, dout: Buf, dq: Buf, dk: Buf, dvb: Buf, p: FlashDims): void {
  const { nq, nk, d, dv, scale, causal, blockQ: Br, blockK: Bc } = p;
  const shift = nk - nq;
  const Q = q.a, K = k.a, V = v.a, O = o.a, L = lse.a, dO = dout.a;
  const D = new Float64Array(nq);
  const dQ = new Float64Array(nq * d);
  const dKj = new Float64Array(Bc * d);
  const dVj = new Float64Array(Bc * dv);
  for (let bh = 0; bh < p.b * p.h; bh++) {
    const hd = heads(p, bh);
    const qo = q.off + hd.q * nq * d;
    const ko = k.off + hd.kv * nk * d;
    const vo = v.off + hd.kv * nk * dv;
    const oo = o.off + hd.q * nq * dv;
    const go = dout.off + hd.q * nq * dv;
    const lo = lse.off + hd.q * nq;
    // D_i = rowsum(dO_i ∘ O_i)
    for (let i = 0; i < nq; i++) {
      let t = 0;
      for (let c = 0; c < dv; c++) t += dO[go + i * dv + c]! * O[oo + i * dv + c]!;
      D[i] = t;
    }
    dQ.fill(0);
    for (let j0 = 0; j0 < nk; j0 += Bc) {
      const j1 = Math.min(nk, j0 + Bc);
      dKj.fill(0);
      dVj.fill(0);
      // causal: query blocks whose last query sees no key of this block are skipped
      const iFirst = causal ? Math.max(0, j0 - shift) : 0;
      for (let i0 = Math.floor(iFirst / Br) * Br; i0 < nq; i0 += Br) {
        const i1 = Math.min(nq, i0 + Br);
        for (let i = i0; i < i1; i++) {
          const jr = causal ? Math.min(j1, i + shift + 1) : j1;
          const qi = qo + i * d;
          const gi = go + i * dv;
          const Li = L[lo + i]!;
          for (let j = j0; j < jr; j++) {
            const kj = ko + j * d;
            const vj = vo + j * dv;
            let dot = 0;
            for (let c = 0; c < d; c++) dot += Q[qi + c]! * K[kj + c]!;
            const pij = Math.exp(scale * dot - Li);
            let dp = 0;
            const dvOff = (j - j0) * dv;
            for (let c = 0; c < dv; c++) {
              const g = dO[gi + c]!;
              dVj[dvOff + c]! += pij * g;
              dp += g * V[vj + c]!;
            }
            const ds = scale * pij * (dp - D[i]!);
            const dkOff = (j - j0) * d;
            for (let c = 0; c < d; c++) {
              dQ[i * d + c]! += ds * K[kj + c]!;
              dKj[dkOff + c]! += ds * Q[qi + c]!;
            }
          }
        }
      }
      const dko = dk.off + hd.kv * nk * d + j0 * d;
      const dvo = dvb.off + hd.kv * nk * dv + j0 * dv;
      for (let t = 0; t < (j1 - j0) * d; t++) dk.a[dko + t]! += dKj[t]!;
      for (let t = 0; t < (j1 - j0) * dv; t++) dvb.a[dvo + t]! += dVj[t]!;
    }
    const dqo = dq.off + hd.q * nq * d;
    for (let t = 0; t < nq * d; t++) dq.a[dqo + t] = dQ[t]!;
  }
}
