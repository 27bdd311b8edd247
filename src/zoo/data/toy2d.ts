/**
 * Two-dimensional toy distributions, the test beds of FFJORD (Grathwohl et
 * al., arXiv 1810.01367, Fig. 2), flow matching and rectified flow. Each is a
 * seeded sampler `sample(key, n)` → (n, 2), drawn in float64 from the Philox
 * generator and rounded once to the requested dtype; nothing is downloaded.
 * Where the differential entropy is known it is given (in nats), so a
 * model's negative log-likelihood can be compared with the best possible:
 *
 * | name | what | entropy |
 * |---|---|---|
 * | eightGaussians | 8 Gaussians on a circle of radius 2√2, σ = 1/(2√2) | ≈ 2.838 (ln 8 + ln(2πe/8); overlap is negligible) |
 * | checkerboard | uniform on the 8 dark squares (side 2) of a 4×4 board over [−4, 4]² | ln 32 = 3.466 (exact) |
 * | twoMoons | two interleaved half circles (radius 1) with Gaussian noise | — |
 * | swissRoll | the 2-D swiss roll t·(cos t, sin t), t ∈ [1.5π, 4.5π], scaled by 1/5 | — |
 * | circles | 4 concentric circles (radii 1…4, ×0.75) with noise | — |
 * | pinwheel | 5 arms whose angle grows with the radius | — |
 * | spirals | two interleaved Archimedean spirals | — |
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { defaultFloat, tensor } from '../../ops/creation.js';
import { eightGaussiansGmm, sampleGmm } from './gmm.js';

export interface ToyOptions {
  dtype?: DType;
  /** standard deviation of the Gaussian noise added to the shape (each dataset has its own default) */
  noise?: number;
}

export interface ToyDataset {
  readonly name: string;
  sample(key: Key, n: number, opts?: ToyOptions): Tensor;
  /** differential entropy in nats, where known */
  readonly entropy?: number;
}

function checkN(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: n must be a non-negative integer, got ${n}`);
}

/** Build (n, 2) from a per-point generator fed with uniforms and normals. */
function points(name: string, key: Key, n: number, opts: ToyOptions, nu: number, nz: number, f: (u: Float64Array, z: Float64Array, out: Float64Array) => void): Tensor {
  checkN(name, n);
  const [ku, kz] = prng.split(key, 2);
  const u = prng.uniform(ku!, n * nu);
  const z = prng.normal(kz!, n * nz);
  const out = new Float64Array(2 * n);
  const pu = new Float64Array(nu);
  const pz = new Float64Array(nz);
  const po = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < nu; j++) pu[j] = u[i * nu + j]!;
    for (let j = 0; j < nz; j++) pz[j] = z[i * nz + j]!;
    f(pu, pz, po);
    out[2 * i] = po[0]!;
    out[2 * i + 1] = po[1]!;
  }
  return tensor(out, [n, 2], { dtype: opts.dtype ?? defaultFloat() });
}

export const eightGaussians: ToyDataset = {
  name: 'eightGaussians',
  entropy: Math.log(8) + Math.log((2 * Math.PI * Math.E) / 8),
  sample: (key, n, opts = {}) => {
    checkN('eightGaussians', n);
    return sampleGmm(key, eightGaussiansGmm(), n, opts);
  },
};

export const checkerboard: ToyDataset = {
  name: 'checkerboard',
  entropy: Math.log(32),
  // a 4×4 board of squares of side 2 over [−4, 4]²: column i, then one of the two rows j with i + j even
  sample: (key, n, opts = {}) =>
    points('checkerboard', key, n, opts, 4, 0, (u, _z, o) => {
      const i = Math.min(3, Math.floor(4 * u[0]!));
      const j = 2 * Math.min(1, Math.floor(2 * u[1]!)) + (i % 2);
      o[0] = 2 * (i - 2 + u[2]!);
      o[1] = 2 * (j - 2 + u[3]!);
    }),
};

export const twoMoons: ToyDataset = {
  name: 'twoMoons',
  sample: (key, n, opts = {}) => {
    const noise = opts.noise ?? 0.05;
    return points('twoMoons', key, n, opts, 2, 2, (u, z, o) => {
      const th = Math.PI * u[0]!;
      const upper = u[1]! < 0.5;
      o[0] = (upper ? Math.cos(th) : 1 - Math.cos(th)) + noise * z[0]!;
      o[1] = (upper ? Math.sin(th) : 0.5 - Math.sin(th)) + noise * z[1]!;
    });
  },
};

export const swissRoll: ToyDataset = {
  name: 'swissRoll',
  sample: (key, n, opts = {}) => {
    const noise = opts.noise ?? 0.2;
    return points('swissRoll', key, n, opts, 1, 2, (u, z, o) => {
      const t = 1.5 * Math.PI * (1 + 2 * u[0]!);
      o[0] = (t * Math.cos(t)) / 5 + noise * z[0]!;
      o[1] = (t * Math.sin(t)) / 5 + noise * z[1]!;
    });
  },
};

export const circles: ToyDataset = {
  name: 'circles',
  sample: (key, n, opts = {}) => {
    const noise = opts.noise ?? 0.06;
    return points('circles', key, n, opts, 2, 2, (u, z, o) => {
      const r = 0.75 * (1 + Math.floor(4 * u[0]!));
      const th = 2 * Math.PI * u[1]!;
      o[0] = r * Math.cos(th) + noise * z[0]!;
      o[1] = r * Math.sin(th) + noise * z[1]!;
    });
  },
};

export const pinwheel: ToyDataset = {
  name: 'pinwheel',
  sample: (key, n, opts = {}) => {
    const radial = 0.3;
    const tangential = opts.noise ?? 0.1;
    const arms = 5;
    const rate = 0.25;
    return points('pinwheel', key, n, opts, 1, 2, (u, z, o) => {
      const arm = Math.min(arms - 1, Math.floor(arms * u[0]!));
      const a = 1 + radial * z[0]!;
      const b = tangential * z[1]!;
      const ang = (2 * Math.PI * arm) / arms + rate * Math.exp(a);
      o[0] = 2 * (a * Math.cos(ang) - b * Math.sin(ang));
      o[1] = 2 * (a * Math.sin(ang) + b * Math.cos(ang));
    });
  },
};

export const spirals: ToyDataset = {
  name: 'spirals',
  sample: (key, n, opts = {}) => {
    const noise = opts.noise ?? 0.1;
    return points('spirals', key, n, opts, 2, 2, (u, z, o) => {
      const th = Math.sqrt(u[0]!) * 3 * Math.PI;
      const sgn = u[1]! < 0.5 ? 1 : -1;
      o[0] = (sgn * -Math.cos(th) * th) / 3 + noise * z[0]!;
      o[1] = (sgn * Math.sin(th) * th) / 3 + noise * z[1]!;
    });
  },
};

export const TOY_DATASETS: Readonly<Record<string, ToyDataset>> = { eightGaussians, checkerboard, twoMoons, swissRoll, circles, pinwheel, spirals };

/** A toy dataset by name, with a clear error listing the names. */
export function toyDataset(name: string): ToyDataset {
  const d = TOY_DATASETS[name];
  if (!d) throw new Error(`toyDataset: unknown dataset '${name}' (one of ${Object.keys(TOY_DATASETS).join(', ')})`);
  return d;
}
