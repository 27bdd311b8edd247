/** Shared helpers of the diffusion tests: sample moments and log-log slopes. */
import type { Tensor } from '../../src/index.js';

/** Mean (d) and covariance (d × d, 1/(n − 1)) of the rows of x (n, d). */
export function moments(x: Tensor): { mean: number[]; cov: number[][] } {
  const [n, d] = x.shape as [number, number];
  const v = x.toF64();
  const mean = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += v[i * d + j]! / n;
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a]![b]! += ((v[i * d + a]! - mean[a]!) * (v[i * d + b]! - mean[b]!)) / (n - 1);
  return { mean, cov };
}

/** Largest absolute entrywise difference. */
export function maxDiff(a: readonly number[] | readonly (readonly number[])[], b: readonly number[] | readonly (readonly number[])[]): number {
  const fa = (a as unknown[]).flat(2) as number[];
  const fb = (b as unknown[]).flat(2) as number[];
  return Math.max(...fa.map((v, i) => Math.abs(v - fb[i]!)));
}

/** Least-squares slope of log(y) against log(x). */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((p, q) => p + q) / lx.length;
  const my = ly.reduce((p, q) => p + q) / ly.length;
  let num = 0;
  let den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * (ly[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}
