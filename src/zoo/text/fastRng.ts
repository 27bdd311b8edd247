/**
 * A small sequential generator for hot training loops, seeded from a Philox
 * key.
 *
 * SGNS draws several random numbers per training pair (window shrink,
 * subsampling, k negatives); calling the counter-based Philox sampler for
 * each would cost more than the update itself. So each run derives the 128-bit
 * state of a xoshiro128** generator (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021) from `randomBits(key, 4)`:
 * the stream is still a pure function of the key, so runs are reproducible.
 */
import { randomBits, type Key } from '../../core/random.js';

const INV_2_32 = 1 / 4294967296;

/** xoshiro128**: 32-bit outputs, period 2^128 − 1. */
export class FastRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(key: Key) {
    const bits = randomBits(key, 4);
    this.s0 = bits[0] | 0;
    this.s1 = bits[1] | 0;
    this.s2 = bits[2] | 0;
    this.s3 = bits[3] | 0;
    // The all-zero state is the one fixed point; Philox output is never all zero in practice, but be exact.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform uint32 (as a non-negative number). */
  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** A uniform double in [0, 1) with 32 random bits. */
  uniform01(): number {
    return this.nextU32() * INV_2_32;
  }

  /** A uniform integer in [0, n) for 1 ≤ n ≤ 2^32 (multiply-shift; bias below n/2^32). */
  below(n: number): number {
    return Math.floor(this.nextU32() * INV_2_32 * n);
  }
}
