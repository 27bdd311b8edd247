/**
 * The selective scan as plain loops over contiguous arrays: the float64
 * reference kernels of the `selectiveScan` and `selectiveScanBackward` ops
 * (selectiveScan.ts), and the fallback when the WebAssembly kernel declines.
 *
 * One channel (batch element i, channel c) at a time, as the reference CUDA
 * kernel does per thread block: its state h (N) lives in a small array; the
 * backward pass recomputes the channel's states from the start instead of
 * reading them from memory (nothing of size L·d·N is ever stored), then runs
 * the adjoint recurrence backwards:
 *
 *   λₜ = Cₜ·dyₜ + Āₜ₊₁ ⊙ λₜ₊₁           (the cotangent of hₜ; λ_{L−1} starts from d(last state))
 *   dAₙ += λₜₙ·hₜ₋₁,ₙ·Āₜₙ·Δₜ           dBₜₙ += λₜₙ·Δₜ·uₜ       dCₜₙ += dyₜ·hₜₙ
 *   dΔₜ = Σₙ λₜₙ·(hₜ₋₁,ₙ·Āₜₙ·Aₙ + Bₜₙ·uₜ)    duₜ = D·dyₜ + Δₜ·Σₙ λₜₙ·Bₜₙ
 *
 * Shapes as in selectiveScan.ref.ts: u, Δ, z (b, L, d); B, C (b, L, N); A (d, N).
 */

export interface ScanDims {
  b: number;
  L: number;
  d: number;
  N: number;
  /** checkpoint interval: the state entering every `chunk`-th step is an output */
  chunk: number;
}

export interface ScanArrays {
  u: Float64Array;
  delta: Float64Array;
  A: Float64Array;
  B: Float64Array;
  C: Float64Array;
  D: Float64Array | null;
  z: Float64Array | null;
  bias: Float64Array | null;
}

const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Δ after the optional bias and softplus, for token t of batch i, channel c. */
function stepSize(s: ScanArrays, softplusOn: boolean, idx: number, c: number): number {
  const r = s.delta[idx]! + (s.bias ? s.bias[c]! : 0);
  return softplusOn ? softplus(r) : r;
}

/** Forward: [out (b, L, d), last state (b, d, N), checkpoints (b, ⌈L/chunk⌉, N, d)]. */
export function scanForwardLoops(s: ScanArrays, m: ScanDims, softplusOn: boolean): [Float64Array, Float64Array, Float64Array] {
  const { b, L, d, N, chunk } = m;
  const nc = Math.ceil(L / chunk);
  const out = new Float64Array(b * L * d);
  const last = new Float64Array(b * d * N);
  const ckpt = new Float64Array(b * nc * N * d);
  const h = new Float64Array(N);
  for (let i = 0; i < b; i++) {
    for (let c = 0; c < d; c++) {
      h.fill(0);
      for (let t = 0; t < L; t++) {
        if (t % chunk === 0) for (let n = 0; n < N; n++) ckpt[((i * nc + t / chunk) * N + n) * d + c] = h[n]!;
        const idx = (i * L + t) * d + c;
        const dt = stepSize(s, softplusOn, idx, c);
        const du = dt * s.u[idx]!;
        const row = (i * L + t) * N;
        let y = 0;
        for (let n = 0; n < N; n++) {
          const hn = Math.exp(dt * s.A[c * N + n]!) * h[n]! + du * s.B[row + n]!;
          h[n] = hn;
          y += hn * s.C[row + n]!;
        }
        if (s.D) y += s.D[c]! * s.u[idx]!;
        if (s.z) {
          const zv = s.z[idx]!;
          y *= zv * sigmoid(zv);
        }
        out[idx] = y;
      }
      for (let n = 0; n < N; n++) last[(i * d + c) * N + n] = h[n]!;
    }
  }
  return [out, last, ckpt];
}

export interface ScanGrads {
  du: Float64Array;
  ddelta: Float64Array;
  dA: Float64Array;
  dB: Float64Array;
  dC: Float64Array;
  dD: Float64Array | null;
  dz: Float64Array | null;
  dbias: Float64Array | null;
}

/** Backward from the output cotangent g (b, L, d) and the last state's gl (b, d, N) (either may be null). */
export function scanBackwardLoops(s: ScanArrays, m: ScanDims, softplusOn: boolean, g: Float64Array | null, gl: Float64Array | null): ScanGrads {
  const { b, L, d, N } = m;
  const r: ScanGrads = {
    du: new Float64Array(b * L * d),
    ddelta: new Float64Array(b * L * d),
    dA: new Float64Array(d * N),
    dB: new Float64Array(b * L * N),
    dC: new Float64Array(b * L * N),
    dD: s.D ? new Float64Array(d) : null,
    dz: s.z ? new Float64Array(b * L * d) : null,
    dbias: s.bias ? new Float64Array(d) : null,
  };
  const hs = new Float64Array((L + 1) * N); // hs[t+1] = hₜ, hs[0] = 0: recomputed per channel
  const dts = new Float64Array(L);
  const lam = new Float64Array(N);
  for (let i = 0; i < b; i++) {
    for (let c = 0; c < d; c++) {
      for (let t = 0; t < L; t++) {
        const idx = (i * L + t) * d + c;
        const dt = stepSize(s, softplusOn, idx, c);
        dts[t] = dt;
        const du = dt * s.u[idx]!;
        const row = (i * L + t) * N;
        for (let n = 0; n < N; n++) hs[(t + 1) * N + n] = Math.exp(dt * s.A[c * N + n]!) * hs[t * N + n]! + du * s.B[row + n]!;
      }
      for (let n = 0; n < N; n++) lam[n] = gl ? gl[(i * d + c) * N + n]! : 0;
      for (let t = L - 1; t >= 0; t--) {
        const idx = (i * L + t) * d + c;
        const row = (i * L + t) * N;
        const dt = dts[t]!;
        const uv = s.u[idx]!;
        let dy = g ? g[idx]! : 0;
        if (s.z) {
          let y = 0;
          for (let n = 0; n < N; n++) y += hs[(t + 1) * N + n]! * s.C[row + n]!;
          if (s.D) y += s.D[c]! * uv;
          const zv = s.z[idx]!;
          const sg = sigmoid(zv);
          r.dz![idx] = dy * y * sg * (1 + zv * (1 - sg));
          dy *= zv * sg;
        }
        if (s.D) r.dD![c] += dy * uv;
        let ddt = 0;
        let lb = 0;
        for (let n = 0; n < N; n++) {
          const a = Math.exp(dt * s.A[c * N + n]!);
          const hp = hs[t * N + n]!;
          const l = lam[n]! + s.C[row + n]! * dy;
          r.dC[row + n] += dy * hs[(t + 1) * N + n]!;
          r.dA[c * N + n] += l * hp * a * dt;
          r.dB[row + n] += l * dt * uv;
          ddt += l * (hp * a * s.A[c * N + n]! + s.B[row + n]! * uv);
          lb += l * s.B[row + n]!;
          lam[n] = a * l;
        }
        r.du[idx] = (s.D ? s.D[c]! * dy : 0) + dt * lb;
        const raw = s.delta[idx]! + (s.bias ? s.bias[c]! : 0);
        const dr = softplusOn ? ddt * sigmoid(raw) : ddt;
        r.ddelta[idx] = dr;
        if (r.dbias) r.dbias[c] += dr;
      }
    }
  }
  return r;
}
