/** Seeded float64 test data and a relative error for the linalg kernel tests (mulberry32 + Box–Muller). */
import { frobeniusNormF64 } from '../../src/linalg/index.js';

export function normalRng(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
export function randn(rng: () => number, len: number): Float64Array {
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = rng();
  return out;
}
export function relDiff(actual: Float64Array, expected: Float64Array): number {
  const diff = new Float64Array(actual.length);
  for (let i = 0; i < actual.length; i++) diff[i] = actual[i] - expected[i];
  return frobeniusNormF64(diff) / Math.max(frobeniusNormF64(expected), Number.MIN_VALUE);
}
