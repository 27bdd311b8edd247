/**
 * The discrete-time DDPM process (Ho et al., "Denoising Diffusion
 * Probabilistic Models", arXiv 2006.11239): T steps with variances βₜ,
 * q(xₜ | x₀) = N(√ᾱₜ·x₀, (1 − ᾱₜ)I), ᾱₜ = ∏_{s ≤ t}(1 − β_s). Schedules:
 * - 'linear': β from 1e-4 to 0.02 over T = 1000 (Ho et al. §4);
 * - 'cosine': ᾱₜ = f(t/T)/f(0), f(u) = cos²((u + s)/(1 + s)·π/2), s = 0.008,
 *   βₜ = min(1 − ᾱₜ/ᾱₜ₋₁, 0.999) (Nichol & Dhariwal, arXiv 2102.09672, eq. 17).
 *
 * In the unified form s = √ᾱ and σ = √((1 − ᾱ)/ᾱ). Time is the step index
 * t ∈ [0, T − 1] (index i is the paper's step i + 1), what the network is
 * conditioned on; between integers log σ is interpolated linearly (as
 * k-diffusion's discrete schedules do), so σ-space samplers on any σ grid can
 * call a network trained on integer steps.
 */
import type { Coefficients, Process } from './process.js';

export interface DdpmOptions {
  /** number of steps T (default 1000) */
  steps?: number;
  /** 'linear' (default) or 'cosine' */
  schedule?: 'linear' | 'cosine';
  /** linear schedule ends (defaults 1e-4, 0.02) */
  betaStart?: number;
  betaEnd?: number;
}

export interface DdpmProcess extends Process {
  readonly T: number;
  /** β₁ … β_T (index i is step i + 1) */
  readonly betas: Float64Array;
  /** ᾱ₁ … ᾱ_T */
  readonly alphasCumprod: Float64Array;
  /** σ₁ … σ_T of the unified form */
  readonly sigmas: Float64Array;
}

export function ddpmBetas(T: number, schedule: 'linear' | 'cosine', betaStart = 1e-4, betaEnd = 0.02): Float64Array {
  if (!Number.isInteger(T) || T < 2) throw new Error(`ddpm: steps must be an integer ≥ 2, got ${T}`);
  const b = new Float64Array(T);
  if (schedule === 'linear') {
    if (!(betaStart > 0 && betaEnd >= betaStart && betaEnd < 1)) throw new Error(`ddpm: need 0 < betaStart ≤ betaEnd < 1, got ${betaStart} and ${betaEnd}`);
    for (let i = 0; i < T; i++) b[i] = betaStart + ((betaEnd - betaStart) * i) / (T - 1);
  } else if (schedule === 'cosine') {
    const f = (u: number): number => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) b[i] = Math.min(1 - f((i + 1) / T) / f(i / T), 0.999);
  } else {
    throw new Error(`ddpm: schedule must be 'linear' or 'cosine', got '${String(schedule)}'`);
  }
  return b;
}

/** The discrete DDPM process with T steps. */
export function ddpm(o: DdpmOptions = {}): DdpmProcess {
  const T = o.steps ?? 1000;
  const schedule = o.schedule ?? 'linear';
  const betas = ddpmBetas(T, schedule, o.betaStart, o.betaEnd);
  const alphasCumprod = new Float64Array(T);
  const sigmas = new Float64Array(T);
  const logSigmas = new Float64Array(T);
  let ab = 1;
  for (let i = 0; i < T; i++) {
    ab *= 1 - betas[i]!;
    alphasCumprod[i] = ab;
    sigmas[i] = Math.sqrt((1 - ab) / ab);
    logSigmas[i] = Math.log(sigmas[i]!);
  }
  /** segment j and fraction w with t = j + w, 0 ≤ j < T − 1 */
  const locate = (t: number): [number, number] => {
    const tc = Math.min(T - 1, Math.max(0, t));
    const j = Math.min(T - 2, Math.floor(tc));
    return [j, tc - j];
  };
  const logSigma = (t: number): number => {
    const [j, w] = locate(t);
    return logSigmas[j]! + w * (logSigmas[j + 1]! - logSigmas[j]!);
  };
  const sigma = (t: number): number => Math.exp(logSigma(t));
  return {
    kind: `ddpm-${schedule}`,
    T,
    betas,
    alphasCumprod,
    sigmas,
    tMin: 0,
    tMax: T - 1,
    unitPrior: true,
    s: (t) => 1 / Math.sqrt(1 + sigma(t) ** 2),
    sigma,
    tOfSigma(sig) {
      if (!(sig > sigmas[0]!)) return 0;
      if (sig >= sigmas[T - 1]!) return T - 1;
      const ls = Math.log(sig);
      // σ increases with the step: binary search for the segment holding log σ
      let lo = 0;
      let hi = T - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (logSigmas[mid]! <= ls) lo = mid;
        else hi = mid;
      }
      const w = (ls - logSigmas[lo]!) / (logSigmas[hi]! - logSigmas[lo]!);
      // land exactly on an integer step when σ is one of the table's values
      return w === 0 ? lo : w === 1 ? hi : lo + w;
    },
    coefficients(t): Coefficients {
      const [j] = locate(t);
      const sig = sigma(t);
      const dSig = sig * (logSigmas[j + 1]! - logSigmas[j]!);
      const q = (1 + sig * sig) ** -1.5;
      const scale = 1 / Math.sqrt(1 + sig * sig);
      return { scale, noiseStd: scale * sig, dScale: -sig * dSig * q, dNoiseStd: dSig * q };
    },
  };
}
