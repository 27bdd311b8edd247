/**
 * Noise-level grids for the samplers: decreasing σ's, most ending in 0.
 *
 * - `karrasSigmas`: Karras et al. (arXiv 2206.00364) eq. 5,
 *   σᵢ = (σ_max^{1/ρ} + i/(N − 1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for i < N, σ_N = 0, ρ = 7;
 *   σ₀ = σ_max and σ_{N−1} = σ_min exactly.
 * - `processSigmas`: σ(tᵢ) of a process on times uniform from tMax to tMin
 *   (Song et al.'s grids), then 0.
 * - `ddpmSigmas`: the σ's of a sub-sequence of a discrete DDPM schedule's
 *   steps, evenly spaced from T − 1 down to 0 (DDIM's "uniform" τ; all T
 *   steps when `steps` = T), then 0.
 * - `geometricSigmas`: NCSN's levels σ₁ > … > σ_L in geometric progression
 *   (Song & Ermon 1907.05600, §4.2); no trailing 0.
 * - `flowSigmas`: times uniform from 1 to 0, as σ = t/(1 − t) (σ₀ = ∞), with
 *   SD3's optional shift t ↦ shift·t/(1 + (shift − 1)·t) (Esser et al.,
 *   arXiv 2403.03206, §5.3.2).
 */
import type { Process } from './process.js';
import type { DdpmProcess } from './ddpmProcess.js';

function checkSteps(fn: string, n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new Error(`${fn}: the number of steps must be an integer ≥ ${min}, got ${n}`);
}

export interface KarrasOptions {
  sigmaMin?: number;
  sigmaMax?: number;
  rho?: number;
}

/** EDM's ρ-schedule: n levels from σ_max to σ_min, then 0 (n + 1 values). */
export function karrasSigmas(n: number, opts: KarrasOptions = {}): number[] {
  checkSteps('karrasSigmas', n);
  const { sigmaMin = 0.002, sigmaMax = 80, rho = 7 } = opts;
  if (!(sigmaMin > 0 && sigmaMax >= sigmaMin)) throw new Error(`karrasSigmas: need 0 < sigmaMin ≤ sigmaMax, got ${sigmaMin} and ${sigmaMax}`);
  if (!(rho > 0)) throw new Error(`karrasSigmas: rho must be positive, got ${rho}`);
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  const out = Array.from({ length: n }, (_, i) => (i === 0 ? sigmaMax : i === n - 1 ? sigmaMin : (a + (i / (n - 1)) * (b - a)) ** rho));
  out.push(0);
  return out;
}

/** σ(t) on n times uniform from tMax down to tMin, then 0 (n + 1 values: the last step denoises). */
export function processSigmas(process: Process, n: number, opts: { tMin?: number; tMax?: number } = {}): number[] {
  checkSteps('processSigmas', n);
  const tMax = opts.tMax ?? process.tMax;
  const tMin = opts.tMin ?? process.tMin;
  if (!(tMax > tMin)) throw new Error(`processSigmas: need tMax > tMin, got ${tMax} and ${tMin}`);
  const out = Array.from({ length: n }, (_, i) => process.sigma(tMax + ((tMin - tMax) * i) / Math.max(1, n - 1)));
  if (n === 1) out[0] = process.sigma(tMax);
  out.push(0);
  return out;
}

/** σ's of `steps` DDPM steps evenly spaced from T − 1 to 0, then 0. */
export function ddpmSigmas(process: DdpmProcess, steps: number): number[] {
  checkSteps('ddpmSigmas', steps);
  const T = process.T;
  if (steps > T) throw new Error(`ddpmSigmas: ${steps} steps is more than the schedule's ${T}`);
  const idx = Array.from({ length: steps }, (_, i) => (steps === 1 ? T - 1 : Math.round(((T - 1) * (steps - 1 - i)) / (steps - 1))));
  return [...idx.map((j) => process.sigmas[j]!), 0];
}

/** L geometric levels from sigmaMax down to sigmaMin (NCSN). */
export function geometricSigmas(L: number, sigmaMax: number, sigmaMin: number): number[] {
  checkSteps('geometricSigmas', L, 2);
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new Error(`geometricSigmas: need 0 < sigmaMin < sigmaMax, got ${sigmaMin} and ${sigmaMax}`);
  const r = Math.log(sigmaMin / sigmaMax) / (L - 1);
  return Array.from({ length: L }, (_, i) => (i === 0 ? sigmaMax : i === L - 1 ? sigmaMin : sigmaMax * Math.exp(r * i)));
}

/** n uniform flow steps from t = 1 to t = 0 as σ's (σ₀ = ∞), with an optional SD3 time shift. */
export function flowSigmas(n: number, opts: { shift?: number; tMax?: number } = {}): number[] {
  checkSteps('flowSigmas', n);
  const shift = opts.shift ?? 1;
  const tMax = opts.tMax ?? 1;
  if (!(shift > 0)) throw new Error(`flowSigmas: shift must be positive, got ${shift}`);
  if (!(tMax > 0 && tMax <= 1)) throw new Error(`flowSigmas: tMax must be in (0, 1], got ${tMax}`);
  return Array.from({ length: n + 1 }, (_, i) => {
    const u = (tMax * (n - i)) / n;
    const t = (shift * u) / (1 + (shift - 1) * u);
    return t >= 1 ? Infinity : t / (1 - t);
  });
}
