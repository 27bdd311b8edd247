/**
 * The recurrent part of an RNN, LSTM or GRU layer over a whole sequence, and
 * its backpropagation through time, as loops over contiguous arrays: the
 * kernels of the `rnnScan` and `rnnScanBackward` ops (src/zoo/rnn/rnnScan.ts). The input
 * projection x·W_ihᵀ + b_ih of every step is one large product done before
 * (by the caller), so each step here is one (b × H)·(H × G·H) product (the
 * `gemm` callback: plain loops for the float64 reference, the WebAssembly or
 * BLAS sgemm on the heap for float32) plus the gate arithmetic. The same code
 * serves both dtypes.
 *
 * Cells (PyTorch's equations and gate orders):
 *   RNN   h' = act(x̃ + W_hh h + b_hh)
 *   LSTM  [i, f, g, o] = [σ, σ, tanh, σ](x̃ + W_hh h + b_hh);  c' = f c + i g;  h' = o tanh(c')
 *   GRU   [r, z] = σ(x̃_rz + (W_hh h + b_hh)_rz);  n = tanh(x̃_n + r (W_hn h + b_hn));  h' = (1 − z) n + z h
 * With a mask m_t (1 real, 0 padding), h_t = m h' + (1 − m) h_{t−1} (and c
 * likewise): the state stands still over padding, as packed sequences do.
 *
 * Saved for the backward pass ("gates", per step): LSTM [i, f, g, o] and c;
 * GRU [r, z, n, W_hn h + b_hn]; RNN h'. Backward walks t = L−1 … 0, forms the
 * gradient of the pre-activations, and carries dh_{t−1} = dG_h·W_hh +
 * (direct terms) back one step; dW_hh = Σₜ dG_hᵀ h_{t−1} is one product at
 * the end.
 */

export type Arr = Float64Array | Float32Array;
export type RnnMode = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';

/** C (m × n, row stride ldc) = op(A)·op(B) + beta·C, on arrays (views) of one dtype. */
export type Gemm = (transA: boolean, transB: boolean, m: number, n: number, k: number, A: Arr, lda: number, B: Arr, ldb: number, beta: 0 | 1, C: Arr, ldc: number) => void;

/** Gates per step: G·H values of the pre-activation, S·H saved values. */
export const gateCount = (mode: RnnMode): number => (mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1);
export const savedCount = (mode: RnnMode): number => (mode === 'rnn_tanh' || mode === 'rnn_relu' ? 1 : 4);

export interface RnnDims {
  L: number;
  b: number;
  H: number;
}

export interface RnnInputs {
  /** (L, b, G·H) input projections x·W_ihᵀ + b_ih */
  xp: Arr;
  /** (G·H, H) */
  whh: Arr;
  /** (G·H) or null */
  bhh: Arr | null;
  /** (b, H) */
  h0: Arr;
  /** (b, H), LSTM only */
  c0: Arr | null;
  /** (L, b) of 0/1, or null */
  mask: Arr | null;
}

export interface RnnSaved {
  /** (L, b, H) hidden states (the layer output before zeroing padding) */
  hs: Arr;
  /** (L, b, S·H) */
  gates: Arr;
  /** (L, b, H) cell states, LSTM only */
  cs: Arr | null;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The forward recurrence; fills hs, gates, cs (and hN, cN: the states after the last step). `hp` is (b, G·H) scratch. */
export function rnnForward(mode: RnnMode, m: RnnDims, x: RnnInputs, out: RnnSaved & { hN: Arr; cN: Arr | null }, hp: Arr, gemm: Gemm): void {
  const { L, b, H } = m;
  const G = gateCount(mode);
  const S = savedCount(mode);
  const GH = G * H;
  for (let t = 0; t < L; t++) {
    const hPrev = t === 0 ? x.h0 : out.hs.subarray((t - 1) * b * H, t * b * H);
    const cPrev = mode === 'lstm' ? (t === 0 ? x.c0! : out.cs!.subarray((t - 1) * b * H, t * b * H)) : null;
    gemm(false, true, b, GH, H, hPrev, H, x.whh, H, 0, hp, GH); // hp = h W_hhᵀ
    for (let j = 0; j < b; j++) {
      const m = x.mask ? x.mask[t * b + j]! : 1;
      const xo = (t * b + j) * GH;
      const po = j * GH;
      const so = (t * b + j) * S * H;
      const ho = (t * b + j) * H;
      for (let k = 0; k < H; k++) {
        const hk = hPrev[j * H + k]!;
        let hNew: number;
        if (mode === 'lstm') {
          const pre = (q: number): number => x.xp[xo + q * H + k]! + hp[po + q * H + k]! + (x.bhh ? x.bhh[q * H + k]! : 0);
          const i = sigmoid(pre(0));
          const f = sigmoid(pre(1));
          const g = Math.tanh(pre(2));
          const o = sigmoid(pre(3));
          const cp = cPrev![j * H + k]!;
          const c = f * cp + i * g;
          hNew = o * Math.tanh(c);
          out.gates[so + k] = i;
          out.gates[so + H + k] = f;
          out.gates[so + 2 * H + k] = g;
          out.gates[so + 3 * H + k] = o;
          out.cs![ho + k] = m * c + (1 - m) * cp;
        } else if (mode === 'gru') {
          const hq = (q: number): number => hp[po + q * H + k]! + (x.bhh ? x.bhh[q * H + k]! : 0);
          const r = sigmoid(x.xp[xo + k]! + hq(0));
          const z = sigmoid(x.xp[xo + H + k]! + hq(1));
          const hn = hq(2);
          const n = Math.tanh(x.xp[xo + 2 * H + k]! + r * hn);
          hNew = (1 - z) * n + z * hk;
          out.gates[so + k] = r;
          out.gates[so + H + k] = z;
          out.gates[so + 2 * H + k] = n;
          out.gates[so + 3 * H + k] = hn;
        } else {
          const a = x.xp[xo + k]! + hp[po + k]! + (x.bhh ? x.bhh[k]! : 0);
          hNew = mode === 'rnn_tanh' ? Math.tanh(a) : Math.max(0, a);
          out.gates[so + k] = hNew;
        }
        out.hs[ho + k] = m * hNew + (1 - m) * hk;
      }
    }
  }
  out.hN.set(L > 0 ? out.hs.subarray((L - 1) * b * H, L * b * H) : x.h0);
  if (mode === 'lstm') out.cN!.set(L > 0 ? out.cs!.subarray((L - 1) * b * H, L * b * H) : x.c0!);
}

export interface RnnGrads {
  /** (L, b, G·H) */
  dxp: Arr;
  /** (G·H, H) */
  dwhh: Arr;
  /** (G·H) or null */
  dbhh: Arr | null;
  /** (b, H) */
  dh0: Arr;
  /** (b, H), LSTM only */
  dc0: Arr | null;
}

/**
 * Backpropagation through time from the cotangents of every hidden state
 * (dhs, (L, b, H)), of the last h (dhN) and of the last c (dcN, LSTM). `dgh`
 * is (L, b, G·H) scratch for the hidden-side pre-activation gradients (for
 * LSTM and RNN it may be `g.dxp` itself); `tmp` is (b, H) scratch.
 */
export function rnnBackward(mode: RnnMode, m: RnnDims, x: RnnInputs, s: RnnSaved, dhs: Arr, dhN: Arr, dcN: Arr | null, g: RnnGrads, dgh: Arr, tmp: Arr, gemm: Gemm): void {
  const { L, b, H } = m;
  const G = gateCount(mode);
  const S = savedCount(mode);
  const GH = G * H;
  const dh = g.dh0; // the running dh, ending as dh0
  const dc = g.dc0;
  dh.set(dhN);
  if (dc) dc.set(dcN!);
  for (let t = L - 1; t >= 0; t--) {
    const hPrev = t === 0 ? x.h0 : s.hs.subarray((t - 1) * b * H, t * b * H);
    const cPrev = mode === 'lstm' ? (t === 0 ? x.c0! : s.cs!.subarray((t - 1) * b * H, t * b * H)) : null;
    for (let j = 0; j < b; j++) {
      const m = x.mask ? x.mask[t * b + j]! : 1;
      const so = (t * b + j) * S * H;
      const go = (t * b + j) * GH;
      const ho = (t * b + j) * H;
      for (let k = 0; k < H; k++) {
        const e = j * H + k;
        const dhTot = dh[e]! + dhs[ho + k]!;
        const dhNew = m * dhTot;
        let direct = (1 - m) * dhTot; // what reaches h_{t−1} without W_hh
        if (mode === 'lstm') {
          const [i, f, gg, o] = [s.gates[so + k]!, s.gates[so + H + k]!, s.gates[so + 2 * H + k]!, s.gates[so + 3 * H + k]!];
          const c = f * cPrev![e]! + i * gg; // c' before the mask
          const tc = Math.tanh(c);
          const dcTot = dc![e]!;
          const dcNew = m * dcTot + dhNew * o * (1 - tc * tc);
          g.dxp[go + k] = dcNew * gg * i * (1 - i);
          g.dxp[go + H + k] = dcNew * cPrev![e]! * f * (1 - f);
          g.dxp[go + 2 * H + k] = dcNew * i * (1 - gg * gg);
          g.dxp[go + 3 * H + k] = dhNew * tc * o * (1 - o);
          dc![e] = dcNew * f + (1 - m) * dcTot;
        } else if (mode === 'gru') {
          const [r, z, n, hn] = [s.gates[so + k]!, s.gates[so + H + k]!, s.gates[so + 2 * H + k]!, s.gates[so + 3 * H + k]!];
          const dan = dhNew * (1 - z) * (1 - n * n);
          const dar = dan * hn * r * (1 - r);
          const daz = dhNew * (hPrev[e]! - n) * z * (1 - z);
          g.dxp[go + k] = dar;
          g.dxp[go + H + k] = daz;
          g.dxp[go + 2 * H + k] = dan;
          dgh[go + k] = dar;
          dgh[go + H + k] = daz;
          dgh[go + 2 * H + k] = dan * r;
          direct += dhNew * z;
        } else {
          const hNew = s.gates[so + k]!;
          g.dxp[go + k] = dhNew * (mode === 'rnn_tanh' ? 1 - hNew * hNew : hNew > 0 ? 1 : 0);
        }
        tmp[e] = direct;
      }
    }
    // dh_{t−1} = dG_h(t)·W_hh + direct terms
    const dgt = (mode === 'gru' ? dgh : g.dxp).subarray(t * b * GH, (t + 1) * b * GH);
    dh.set(tmp);
    gemm(false, false, b, H, GH, dgt, GH, x.whh, H, 1, dh, H);
  }
  // dW_hh = Σₜ dG_h(t)ᵀ h_{t−1}: h_{−1} = h0, then hs[0 … L−2]; db_hh = Σ dG_h
  const D = mode === 'gru' ? dgh : g.dxp;
  if (L > 0) {
    gemm(true, false, GH, H, b, D, GH, x.h0, H, 0, g.dwhh, H);
    if (L > 1) gemm(true, false, GH, H, (L - 1) * b, D.subarray(b * GH), GH, s.hs, H, 1, g.dwhh, H);
  } else g.dwhh.fill(0);
  if (g.dbhh) {
    g.dbhh.fill(0);
    for (let r = 0; r < L * b; r++) for (let q = 0; q < GH; q++) g.dbhh[q] += D[r * GH + q]!;
  }
}

/** A plain-loop gemm (the float64 reference). */
export const loopGemm: Gemm = (transA, transB, m, n, k, A, lda, B, ldb, beta, C, ldc) => {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += A[transA ? p * lda + i : i * lda + p]! * B[transB ? j * ldb + p : p * ldb + j]!;
      C[i * ldc + j] = beta ? C[i * ldc + j]! + acc : acc;
    }
  }
};
