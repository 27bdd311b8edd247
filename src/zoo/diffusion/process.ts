/**
 * Noising processes in one parameterisation (Karras et al., "Elucidating the
 * Design Space of Diffusion-Based Generative Models", arXiv 2206.00364, §2
 * and Table 1):
 *
 *   xₜ = s(t)·(x₀ + σ(t)·ε),   ε ~ N(0, I),
 *
 * so that x̂ = xₜ/s(t) is x₀ plus noise of standard deviation σ(t): every
 * process is a variance-exploding process in disguise, and samplers written
 * for D(x̂; σ) (k-diffusion's convention) serve them all. Equivalently
 * xₜ = scale·x₀ + noiseStd·ε with scale = s and noiseStd = s·σ (the αₜ, σₜ of
 * Kingma et al.'s VDM), the form the prediction conversions use because it
 * stays finite at the end of a flow (t = 1: scale 0, noiseStd 1, σ = ∞).
 *
 * | process | s(t) | σ(t) |
 * |---|---|---|
 * | VP / DDPM (Ho et al. 2006.11239; Song et al. 2011.13456) | √ᾱ(t) | √((1 − ᾱ)/ᾱ) |
 * | sub-VP (Song et al. 2011.13456, eq. 34) | √ᾱ(t) | (1 − ᾱ)/√ᾱ |
 * | VE / SMLD (Song & Ermon 1907.05600) | 1 | σ_min·(σ_max/σ_min)^t |
 * | EDM | 1 | t |
 * | flow matching / rectified flow (Lipman 2210.02747; Liu 2209.03003) | 1 − t | t/(1 − t) |
 *
 * Time runs from data (tMin) to noise (tMax); σ increases with t, so t is a
 * function of σ (`tOfSigma`), which is how a σ-space sampler finds the time
 * a network was trained on.
 */

/** x = scale·x₀ + noiseStd·ε and their time derivatives at one t. */
export interface Coefficients {
  /** s(t) */
  scale: number;
  /** s(t)·σ(t) */
  noiseStd: number;
  /** ds/dt */
  dScale: number;
  /** d(s·σ)/dt */
  dNoiseStd: number;
}

export interface Process {
  /** 'vp-linear', 'vp-cosine', 'ddpm-linear', 'sub-vp', 've', 'edm', 'flow-matching' */
  readonly kind: string;
  /** the time range used for training and sampling: data end (tMin) to noise end (tMax) */
  readonly tMin: number;
  readonly tMax: number;
  /** whether noise is N(0, I) at tMax in x's coordinates (VP-like: sample the prior with unit variance) */
  readonly unitPrior: boolean;
  s(t: number): number;
  sigma(t: number): number;
  /** the t with σ(t) = sigma (clamped to the process's domain) */
  tOfSigma(sigma: number): number;
  coefficients(t: number): Coefficients;
}

/** σ at the ends of the process's range. */
export const sigmaMin = (p: Process): number => p.sigma(p.tMin);
export const sigmaMax = (p: Process): number => p.sigma(p.tMax);

function checkRange(kind: string, name: string, v: number, lo: number, hi: number): number {
  if (!(typeof v === 'number' && v >= lo && v <= hi)) throw new Error(`${kind}: ${name} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

/**
 * A VP or sub-VP process from log ᾱ(t) and its derivative, with the inverse
 * of log ᾱ. VP: s = √ᾱ, σ = √(1/ᾱ − 1); sub-VP: s = √ᾱ, σ = (1 − ᾱ)/√ᾱ.
 */
function fromAlphaBar(kind: string, sub: boolean, logAb: (t: number) => number, dLogAb: (t: number) => number, tOfLogAb: (l: number) => number, tMin: number, tMax: number): Process {
  const sigma = (t: number): number => {
    const l = logAb(t);
    return sub ? -Math.expm1(l) * Math.exp(-l / 2) : Math.sqrt(Math.expm1(-l));
  };
  return {
    kind,
    tMin,
    tMax,
    unitPrior: true,
    s: (t) => Math.exp(logAb(t) / 2),
    sigma,
    tOfSigma(sig) {
      if (sig <= 0) return 0;
      if (sig === Infinity) return tMax;
      // VP: ᾱ = 1/(1 + σ²); sub-VP: σ√ᾱ = 1 − ᾱ ⇒ √ᾱ = (√(σ² + 4) − σ)/2
      const l = sub ? 2 * Math.log((Math.sqrt(sig * sig + 4) - sig) / 2) : -Math.log1p(sig * sig);
      return tOfLogAb(l);
    },
    coefficients(t) {
      const l = logAb(t);
      const dl = dLogAb(t);
      const scale = Math.exp(l / 2);
      const dScale = (scale * dl) / 2;
      // VP: noiseStd = √(1 − ᾱ); sub-VP: 1 − ᾱ
      const ab = Math.exp(l);
      if (sub) return { scale, noiseStd: -Math.expm1(l), dScale, dNoiseStd: -ab * dl };
      const noiseStd = Math.sqrt(-Math.expm1(l));
      return { scale, noiseStd, dScale, dNoiseStd: noiseStd > 0 ? (-ab * dl) / (2 * noiseStd) : Infinity };
    },
  };
}

export interface LinearBetaOptions {
  /** β(0) (default 0.1, Song et al.'s continuous DDPM) */
  betaMin?: number;
  /** β(1) (default 20) */
  betaMax?: number;
  /** smallest time used (default 1e-3, as Song et al. sample) */
  tMin?: number;
}

/** log ᾱ(t) = −(β_min·t + ½(β_max − β_min)·t²) for β(t) linear, with its inverse. */
function linearBeta(kind: string, o: LinearBetaOptions): [(t: number) => number, (t: number) => number, (l: number) => number] {
  const b0 = checkRange(kind, 'betaMin', o.betaMin ?? 0.1, 0, 1e6);
  const b1 = checkRange(kind, 'betaMax', o.betaMax ?? 20, b0, 1e6);
  const db = b1 - b0;
  return [
    (t) => -(b0 * t + 0.5 * db * t * t),
    (t) => -(b0 + db * t),
    (l) => {
      // ½·db·t² + b0·t + l = 0, the positive root (stable form)
      if (db === 0) return -l / b0;
      return (2 * -l) / (b0 + Math.sqrt(b0 * b0 - 2 * db * l));
    },
  ];
}

/** The VP SDE with β(t) = β_min + t(β_max − β_min) (Song et al. 2011.13456, eq. 11; DDPM's continuous limit). */
export function vpLinear(o: LinearBetaOptions = {}): Process {
  const [l, dl, inv] = linearBeta('vpLinear', o);
  return fromAlphaBar('vp-linear', false, l, dl, inv, o.tMin ?? 1e-3, 1);
}

/** The sub-VP SDE (Song et al. 2011.13456, eq. 34): same ᾱ as vpLinear, noise std 1 − ᾱ. */
export function subVp(o: LinearBetaOptions = {}): Process {
  const [l, dl, inv] = linearBeta('subVp', o);
  return fromAlphaBar('sub-vp', true, l, dl, inv, o.tMin ?? 1e-3, 1);
}

export interface CosineOptions {
  /** offset s of Nichol & Dhariwal (default 0.008) */
  offset?: number;
  tMin?: number;
  /** largest time (default: where ᾱ = 4e-5, about where the linear DDPM schedule ends; ᾱ(1) = 0 would make σ infinite) */
  tMax?: number;
}

/** The cosine schedule ᾱ(t) = f(t)/f(0), f(t) = cos²((t + s)/(1 + s)·π/2) (Nichol & Dhariwal, arXiv 2102.09672, eq. 17), in continuous time. */
export function vpCosine(o: CosineOptions = {}): Process {
  const off = checkRange('vpCosine', 'offset', o.offset ?? 0.008, 0, 1);
  const theta = (t: number): number => ((t + off) / (1 + off)) * (Math.PI / 2);
  const logF0 = 2 * Math.log(Math.cos(theta(0)));
  const l = (t: number): number => 2 * Math.log(Math.cos(theta(t))) - logF0;
  const dl = (t: number): number => -2 * Math.tan(theta(t)) * (Math.PI / (2 * (1 + off)));
  const inv = (lv: number): number => (Math.acos(Math.exp((lv + logF0) / 2)) * 2 * (1 + off)) / Math.PI - off;
  return fromAlphaBar('vp-cosine', false, l, dl, inv, o.tMin ?? 1e-3, o.tMax ?? inv(Math.log(4e-5)));
}

export interface VeOptions {
  sigmaMin?: number;
  sigmaMax?: number;
}

/** The VE SDE / SMLD: σ(t) = σ_min·(σ_max/σ_min)^t on [0, 1], s = 1 (Song et al. 2011.13456, eq. 9; defaults 0.01 and 50). */
export function ve(o: VeOptions = {}): Process {
  const lo = checkRange('ve', 'sigmaMin', o.sigmaMin ?? 0.01, Number.MIN_VALUE, Infinity);
  const hi = checkRange('ve', 'sigmaMax', o.sigmaMax ?? 50, lo, 1e12);
  const r = Math.log(hi / lo);
  const sigma = (t: number): number => lo * Math.exp(r * t);
  return {
    kind: 've',
    tMin: 0,
    tMax: 1,
    unitPrior: false,
    s: () => 1,
    sigma,
    tOfSigma: (sig) => Math.min(1, Math.max(0, Math.log(sig / lo) / r)),
    coefficients: (t) => ({ scale: 1, noiseStd: sigma(t), dScale: 0, dNoiseStd: r * sigma(t) }),
  };
}

export interface EdmOptions {
  /** default 0.002 */
  sigmaMin?: number;
  /** default 80 */
  sigmaMax?: number;
}

/** EDM: s = 1, σ(t) = t (Karras et al. 2206.00364, Table 1). */
export function edm(o: EdmOptions = {}): Process {
  const lo = checkRange('edm', 'sigmaMin', o.sigmaMin ?? 0.002, 0, Infinity);
  const hi = checkRange('edm', 'sigmaMax', o.sigmaMax ?? 80, lo, Infinity);
  return {
    kind: 'edm',
    tMin: lo,
    tMax: hi,
    unitPrior: false,
    s: () => 1,
    sigma: (t) => t,
    tOfSigma: (sig) => sig,
    coefficients: (t) => ({ scale: 1, noiseStd: t, dScale: 0, dNoiseStd: 1 }),
  };
}

/**
 * Flow matching / rectified flow: xₜ = (1 − t)·x₀ + t·ε on [0, 1], i.e.
 * s = 1 − t, σ = t/(1 − t) (σ = ∞ at t = 1, where x is the noise itself).
 */
export function flowMatching(): Process {
  return {
    kind: 'flow-matching',
    tMin: 0,
    tMax: 1,
    unitPrior: true,
    s: (t) => 1 - t,
    sigma: (t) => (t >= 1 ? Infinity : t / (1 - t)),
    tOfSigma: (sig) => (sig === Infinity ? 1 : sig / (1 + sig)),
    coefficients: (t) => ({ scale: 1 - t, noiseStd: t, dScale: -1, dNoiseStd: 1 }),
  };
}
