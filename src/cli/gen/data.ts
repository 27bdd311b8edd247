/**
 * The data sets of the generative commands: the 2-D toys of
 * src/zoo/data/toy2d.ts, and `shapes`, a small image set generated here
 * (the zoo has no image data, and nothing is downloaded): 8×8 grey images
 * of one bar, square, outline, cross or diagonal at a random place, values
 * −1 (background) and +1 (ink) plus N(0, 0.05²) noise (so flows see a
 * continuous density). Models see every example as a flat vector (d = 2 or
 * 64); pictures of image data are image grids rather than scatter plots.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import * as prng from '../../core/random.js';
import { tensor } from '../../ops/creation.js';
import { TOY_DATASETS } from '../../zoo/data/toy2d.js';

export interface GenData {
  readonly name: string;
  /** values per example */
  readonly dim: number;
  /** (c, h, w) for image sets */
  readonly imageShape?: readonly [number, number, number];
  /** n examples (n, dim) from the key */
  sample(key: Key, n: number): Tensor;
}

const SIDE = 8;
const NOISE = 0.05;

/** Draw one shape into img (SIDE × SIDE, filled with −1) from five uniforms. */
function drawShape(u: ArrayLike<number>, img: Float64Array): void {
  const kind = Math.floor(u[0]! * 5);
  const pick = (v: number, lo: number, hi: number): number => lo + Math.min(hi - lo, Math.floor(v * (hi - lo + 1)));
  const on = (y: number, x: number): void => {
    if (y >= 0 && y < SIDE && x >= 0 && x < SIDE) img[y * SIDE + x] = 1;
  };
  const s = pick(u[1]!, 3, 5); // size
  const y0 = pick(u[2]!, 0, SIDE - s);
  const x0 = pick(u[3]!, 0, SIDE - s);
  if (kind === 0) {
    // a bar, horizontal or vertical, full length s, two pixels thick
    const vertical = u[4]! < 0.5;
    for (let i = 0; i < s; i++) {
      for (let t = 0; t < 2; t++) {
        if (vertical) on(y0 + i, x0 + t);
        else on(y0 + t, x0 + i);
      }
    }
  } else if (kind === 1) {
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) on(y0 + i, x0 + j);
  } else if (kind === 2) {
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) if (i === 0 || j === 0 || i === s - 1 || j === s - 1) on(y0 + i, x0 + j);
  } else if (kind === 3) {
    const m = Math.floor(s / 2);
    for (let i = 0; i < s; i++) {
      on(y0 + i, x0 + m);
      on(y0 + m, x0 + i);
    }
  } else {
    const anti = u[4]! < 0.5;
    for (let i = 0; i < s; i++) on(y0 + i, anti ? x0 + s - 1 - i : x0 + i);
  }
}

export const shapes: GenData = {
  name: 'shapes',
  dim: SIDE * SIDE,
  imageShape: [1, SIDE, SIDE],
  sample(key, n) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`shapes: n must be a non-negative integer, got ${n}`);
    const [ku, kz] = prng.split(key, 2);
    const u = prng.uniform(ku!, 5 * n);
    const z = prng.normal(kz!, SIDE * SIDE * n);
    const out = new Float64Array(SIDE * SIDE * n);
    const img = new Float64Array(SIDE * SIDE);
    for (let k = 0; k < n; k++) {
      img.fill(-1);
      drawShape(u.subarray(5 * k, 5 * k + 5), img);
      for (let i = 0; i < img.length; i++) out[k * img.length + i] = img[i]! + NOISE * z[k * img.length + i]!;
    }
    return tensor(out, [n, SIDE * SIDE]);
  },
};

/** Every data set by name: the 2-D toys, then the image sets. */
export const GEN_DATA: Readonly<Record<string, GenData>> = {
  ...Object.fromEntries(Object.entries(TOY_DATASETS).map(([name, d]) => [name, { name, dim: 2, sample: (key: Key, n: number) => d.sample(key, n) }])),
  shapes,
};

export function genData(name: string): GenData {
  const d = GEN_DATA[name];
  if (!d) throw new Error(`unknown data set '${name}'; known: ${Object.keys(GEN_DATA).join(', ')}`);
  return d;
}
