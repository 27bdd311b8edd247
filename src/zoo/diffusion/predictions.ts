/**
 * One module for the five things a diffusion network can predict, and the
 * conversions between them. With x = a·x₀ + b·ε (a = s, b = s·σ in the
 * unified form; see process.ts) and a′, b′ their time derivatives:
 *
 * | prediction | target | recovering (x̂₀, ε̂) from a prediction p at x |
 * |---|---|---|
 * | 'eps' (Ho et al. 2006.11239) | ε | ε̂ = p, x̂₀ = (x − b·p)/a |
 * | 'x0' | x₀ | x̂₀ = p, ε̂ = (x − a·p)/b |
 * | 'v' (Salimans & Ho 2202.00512, §4) | v = a·ε − b·x₀ | x̂₀ = (a·x − b·p)/(a² + b²), ε̂ = (b·x + a·p)/(a² + b²) |
 * | 'score' (Song et al. 2011.13456) | ∇ₓ log pₜ(x) = −ε/b | ε̂ = −b·p, x̂₀ = (x + b²·p)/a |
 * | 'velocity' (flow matching, Lipman 2210.02747) | dx/dt = a′·x₀ + b′·ε | x̂₀ = (b′·x − b·p)/Δ, ε̂ = (a·p − a′·x)/Δ, Δ = a·b′ − b·a′ |
 *
 * For the rectified flow (a = 1 − t, b = t) the velocity is ε − x₀ and
 * Δ = 1. Every sampler, loss and likelihood goes through `toX0Eps` and
 * `fromX0Eps`, so a model trained with any target can be sampled by any
 * sampler. Coefficients are numbers (one time for the batch) or tensors that
 * broadcast against x (one time per example, e.g. shape (b, 1)).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/memory.js';
import { add, div, mul, sub } from '../../ops/elementwise.js';

export type Prediction = 'eps' | 'x0' | 'v' | 'score' | 'velocity';
export const PREDICTIONS: readonly Prediction[] = ['eps', 'x0', 'v', 'score', 'velocity'];

/** A number or a tensor broadcasting against x. */
export type Coef = number | Tensor;

export interface PredictionCoefficients {
  /** a = s(t) */
  scale: Coef;
  /** b = s(t)·σ(t) */
  noiseStd: Coef;
  /** a′ = ds/dt (needed for 'velocity') */
  dScale?: Coef;
  /** b′ = d(sσ)/dt (needed for 'velocity') */
  dNoiseStd?: Coef;
}

// arithmetic on coefficients that stays in plain numbers when it can
const isNum = (c: Coef): c is number => typeof c === 'number';
const cmul = (p: Coef, q: Coef): Coef => (isNum(p) && isNum(q) ? p * q : isNum(p) ? mul(q as Tensor, p) : mul(p, q));
const cadd = (p: Coef, q: Coef): Coef => (isNum(p) && isNum(q) ? p + q : isNum(p) ? add(q as Tensor, p) : add(p, q));
const csub = (p: Coef, q: Coef): Coef => (isNum(p) && isNum(q) ? p - q : sub(p, q));
const cdiv = (p: Coef, q: Coef): Coef => (isNum(p) && isNum(q) ? p / q : isNum(q) ? mul(p as Tensor, 1 / q) : div(p, q));
/** p·X + q·Y for tensors X, Y */
const lin = (p: Coef, X: Tensor, q: Coef, Y: Tensor): Tensor => add(scaleBy(X, p), scaleBy(Y, q));
const scaleBy = (X: Tensor, p: Coef): Tensor => mul(X, p);

function checkKind(fn: string, kind: string): Prediction {
  if (!(PREDICTIONS as readonly string[]).includes(kind)) throw new Error(`${fn}: unknown prediction '${kind}' (one of ${PREDICTIONS.join(', ')})`);
  return kind as Prediction;
}

function derivs(fn: string, c: PredictionCoefficients): [Coef, Coef] {
  if (c.dScale === undefined || c.dNoiseStd === undefined) throw new Error(`${fn}: the 'velocity' prediction needs dScale and dNoiseStd in the coefficients`);
  return [c.dScale, c.dNoiseStd];
}

/** The (x̂₀, ε̂) that prediction `p` of kind `kind` implies at x. */
export function toX0Eps(kind: Prediction, p: Tensor, x: Tensor, c: PredictionCoefficients): { x0: Tensor; eps: Tensor } {
  checkKind('toX0Eps', kind);
  return tidy(() => {
    const a = c.scale;
    const b = c.noiseStd;
    switch (kind) {
      case 'eps':
        return { x0: scaleBy(sub(x, scaleBy(p, b)), cdiv(1, a)), eps: mul(p, 1) };
      case 'x0':
        return { x0: mul(p, 1), eps: scaleBy(sub(x, scaleBy(p, a)), cdiv(1, b)) };
      case 'v': {
        const n = cdiv(1, cadd(cmul(a, a), cmul(b, b)));
        return { x0: scaleBy(lin(a, x, cmul(-1, b), p), n), eps: scaleBy(lin(b, x, a, p), n) };
      }
      case 'score':
        return { x0: scaleBy(add(x, scaleBy(p, cmul(b, b))), cdiv(1, a)), eps: scaleBy(p, cmul(-1, b)) };
      case 'velocity': {
        const [da, db] = derivs('toX0Eps', c);
        const inv = cdiv(1, csub(cmul(a, db), cmul(b, da)));
        return { x0: scaleBy(lin(db, x, cmul(-1, b), p), inv), eps: scaleBy(lin(a, p, cmul(-1, da), x), inv) };
      }
    }
  });
}

/** The prediction of kind `kind` that (x₀, ε) make: the regression target of a loss. */
export function fromX0Eps(kind: Prediction, x0: Tensor, eps: Tensor, c: PredictionCoefficients): Tensor {
  checkKind('fromX0Eps', kind);
  return tidy(() => {
    const a = c.scale;
    const b = c.noiseStd;
    switch (kind) {
      case 'eps':
        return mul(eps, 1);
      case 'x0':
        return mul(x0, 1);
      case 'v':
        return lin(a, eps, cmul(-1, b), x0);
      case 'score':
        return scaleBy(eps, cdiv(-1, b));
      case 'velocity': {
        const [da, db] = derivs('fromX0Eps', c);
        return lin(da, x0, db, eps);
      }
    }
  });
}

/** Re-express prediction p of kind `from` at x as a prediction of kind `to`. */
export function convertPrediction(p: Tensor, from: Prediction, to: Prediction, x: Tensor, c: PredictionCoefficients): Tensor {
  return tidy(() => {
    const { x0, eps } = toX0Eps(from, p, x, c);
    return fromX0Eps(to, x0, eps, c);
  });
}

/** x = a·x₀ + b·ε: noise x₀ with ε at the given coefficients. */
export function noised(x0: Tensor, eps: Tensor, c: PredictionCoefficients): Tensor {
  return tidy(() => lin(c.scale, x0, c.noiseStd, eps));
}
