/**
 * sgemm (WebAssembly SIMD) against a float64 triple loop on fresh random
 * inputs: every transpose pair, odd sizes around the register tile and cache
 * blocks, α/β, batches with broadcast operands, leading dimensions wider than
 * the matrices (strided views), and both micro-kernels (fused relaxed SIMD
 * and mul + add). Relative error (Frobenius) ≤ 1e-5.
 *
 * Threads: results with the pool must equal single-threaded results exactly
 * (bit for bit), not just within a tolerance: every element is computed by
 * the same sequence of roundings whatever the split (see sgemm.kernel.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeSgemm, setThreads, sgemm, shutdownThreads, splitSgemm, wasmFeatures, type SgemmOptions } from '../../src/backends/cpu/wasm/index.js';
import { heap } from '../../src/core/heap.js';
import { freeMatrix, freshSeed, heapMatrix, mulberry32, refGemm, relErr, view } from './gemmHelpers.js';

interface Case {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  batch?: number;
  /** extra elements per row beyond the width (leading dimension − width) */
  pad?: number;
  /** B shared by every batch element (stride 0) */
  broadcastB?: boolean;
}

const SENTINEL = 777.5;

/** Run one case; returns the worst relative error over the batch and whether C's padding survived. */
function runCase(c: Case, opts: SgemmOptions, seed: number): { err: number; paddingKept: boolean } {
  const rng = mulberry32(seed);
  const { m, n, k, transA, transB } = c;
  const alpha = c.alpha ?? 1;
  const beta = c.beta ?? 0;
  const batch = c.batch ?? 1;
  const pad = c.pad ?? 0;
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  const A = heapMatrix(rng, ar, ac, { ld: ac + pad, batch });
  const B = heapMatrix(rng, br, bc, { ld: bc + pad, batch: c.broadcastB ? 1 : batch });
  const C = heapMatrix(rng, m, n, { ld: n + pad, batch, pad: SENTINEL });
  const cv = view(C);
  if (beta === 0) for (let b = 0; b < batch; b++) for (let i = 0; i < m; i++) cv.fill(Number.NaN, b * C.stride + i * C.ld, b * C.stride + i * C.ld + n);
  const cBefore = cv.slice();
  const strideB = c.broadcastB ? 0 : B.stride;
  try {
    sgemm({ transA, transB, m, n, k, alpha, beta, aPtr: A.ptr, lda: A.ld, bPtr: B.ptr, ldb: B.ld, cPtr: C.ptr, ldc: C.ld, batch, strideA: A.stride, strideB, strideC: C.stride }, opts);
    const got = view(C);
    let err = 0;
    for (let b = 0; b < batch; b++) {
      const want = refGemm({ transA, transB, m, n, k, alpha, beta }, A, A.stride, B, strideB, cBefore, C, C.stride, b);
      const e = relErr(got, b * C.stride, C.ld, want, m, n);
      err = Number.isNaN(e) ? Infinity : Math.max(err, e);
    }
    let paddingKept = true;
    for (let i = 0; i < got.length; i++) if (cBefore[i] === SENTINEL && got[i] !== SENTINEL) paddingKept = false;
    return { err, paddingKept };
  } finally {
    freeMatrix(A, B, C);
  }
}

const SIZES = [1, 7, 33, 64, 257];
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const tname = ([a, b]: [boolean, boolean]): string => `${a ? 'Aᵀ' : 'A'}·${b ? 'Bᵀ' : 'B'}`;

const square: Case[] = TRANS.flatMap(([transA, transB]) => SIZES.map((s) => ({ transA, transB, m: s, n: s, k: s })));
const nonSquare: Case[] = TRANS.flatMap(([transA, transB]) =>
  [[7, 33, 257], [257, 1, 33], [33, 257, 7], [1, 64, 257], [64, 7, 1], [300, 65, 130], [5, 600, 3]].map(([m, n, k]) => ({ transA, transB, m: m!, n: n!, k: k! })),
);
const scaled: Case[] = TRANS.flatMap(([transA, transB]) => [
  { transA, transB, m: 33, n: 57, k: 70, alpha: 0.75, beta: -1.25 },
  { transA, transB, m: 9, n: 20, k: 600, alpha: -2, beta: 0.5, pad: 3 },
]);

const f = wasmFeatures();
const paths: [string, boolean][] = [['mul+add', false], ...(f.relaxed ? ([['relaxed madd', true]] as [string, boolean][]) : [])];

afterAll(() => shutdownThreads());

describe.each(paths)('sgemm (%s micro-kernel, one thread)', (_name, fused) => {
  const opts: SgemmOptions = { threads: 1, fused };
  it.each([...square, ...nonSquare].map((c) => [`${tname([c.transA, c.transB])} m=${c.m} n=${c.n} k=${c.k}`, c] as const))('%s', (_label, c) => {
    const seed = freshSeed();
    const r = runCase(c, opts, seed);
    expect(r.err, `seed ${seed}`).toBeLessThanOrEqual(1e-5);
    expect(r.paddingKept, `seed ${seed}`).toBe(true);
  });

  it.each(scaled.map((c) => [`${tname([c.transA, c.transB])} α=${c.alpha} β=${c.beta}`, c] as const))('%s', (_label, c) => {
    const seed = freshSeed();
    expect(runCase(c, opts, seed).err, `seed ${seed}`).toBeLessThanOrEqual(1e-5);
  });

  it.each(TRANS.map((t) => [tname(t), t] as const))('%s batched, leading dimensions wider than the rows, B broadcast', (_l, [transA, transB]) => {
    const seed = freshSeed();
    for (const c of [
      { transA, transB, m: 17, n: 19, k: 23, batch: 5, pad: 5, alpha: 1.5, beta: 0.25 },
      { transA, transB, m: 40, n: 9, k: 31, batch: 3, pad: 1, broadcastB: true },
    ]) {
      const r = runCase(c, opts, seed);
      expect(r.err, `seed ${seed} ${JSON.stringify(c)}`).toBeLessThanOrEqual(1e-5);
      expect(r.paddingKept).toBe(true);
    }
  });

  it('k = 0 and α = 0 give β·C; β = 0 ignores NaN in C', () => {
    const seed = freshSeed();
    expect(runCase({ transA: false, transB: false, m: 9, n: 13, k: 0, beta: 2 }, opts, seed).err).toBe(0);
    expect(runCase({ transA: true, transB: false, m: 9, n: 13, k: 5, alpha: 0, beta: -0.5 }, opts, seed).err).toBe(0);
    expect(runCase({ transA: false, transB: true, m: 9, n: 13, k: 0, beta: 0 }, opts, seed).err).toBe(0);
  });
});

describe('sgemm on the thread pool', () => {
  /** Run `c` single-threaded and on 2 threads from the same inputs; C results must be identical. */
  function sameAsSingle(c: Case): void {
    setThreads(2);
    const seed = freshSeed();
    const rng = mulberry32(seed);
    const { m, n, k, transA, transB } = c;
    const batch = c.batch ?? 1;
    const A = heapMatrix(rng, transA ? k : m, transA ? m : k, { batch });
    const B = heapMatrix(rng, transB ? n : k, transB ? k : n, { batch });
    const C1 = heapMatrix(rng, m, n, { batch });
    const C2 = heapMatrix(rng, m, n, { batch });
    view(C2).set(view(C1));
    const args = { transA, transB, m, n, k, alpha: 1.25, beta: c.beta ?? 0.5, aPtr: A.ptr, lda: A.ld, bPtr: B.ptr, ldb: B.ld, ldc: C1.ld, batch, strideA: A.stride, strideB: B.stride, strideC: C1.stride };
    sgemm({ ...args, cPtr: C1.ptr }, { threads: 1 });
    sgemm({ ...args, cPtr: C2.ptr }, { threads: 2 });
    const [x, y] = [view(C1), view(C2)];
    let differ = 0;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) differ++;
    expect(differ, `seed ${seed}`).toBe(0);
    freeMatrix(A, B, C1, C2);
  }

  it.each(TRANS.map((t) => [tname(t), t] as const))('%s: split over columns, rows and batches, identical to one thread', (_l, [transA, transB]) => {
    sameAsSingle({ transA, transB, m: 130, n: 301, k: 200 }); // columns
    sameAsSingle({ transA, transB, m: 517, n: 45, k: 99 }); // rows
    sameAsSingle({ transA, transB, m: 64, n: 72, k: 80, batch: 6 }); // batches
    sameAsSingle({ transA, transB, m: 70, n: 90, k: 100, batch: 3 }); // 3 batches over 2 threads: columns
  });

  it('splits into tile-aligned blocks that cover C exactly once', () => {
    const p = heap().alloc(4);
    for (const [m, n, batch] of [[100, 301, 1], [517, 45, 1], [8, 8, 6], [9, 1000, 3]] as const) {
      const a = normalizeSgemm({ m, n, k: 1, aPtr: p, lda: 1, bPtr: p, ldb: n, cPtr: 0, ldc: n, batch, strideA: 0, strideB: 0, strideC: m * n });
      for (const parts of [2, 3, 4]) {
        const covered = new Uint8Array(m * n * batch);
        for (const s of splitSgemm(a, parts)) {
          const b0 = s.cPtr / 4;
          for (let b = 0; b < s.batch; b++) for (let i = 0; i < s.m; i++) for (let j = 0; j < s.n; j++) covered[b0 + b * m * n + i * n + j]!++;
        }
        expect(covered.every((x) => x === 1), `m=${m} n=${n} batch=${batch} parts=${parts}`).toBe(true);
      }
    }
    heap().free(p);
  });
});

describe('sgemm argument errors name the argument', () => {
  const p = (): number => heap().alloc(64 * 4);
  it.each([
    [{ m: 4, n: 4, k: 4, lda: 3, ldb: 4, ldc: 4 }, /lda is 3 but A is 4×4/],
    [{ m: 4, n: 4, k: 4, transB: true, lda: 4, ldb: 3, ldc: 4 }, /ldb is 3 but B is 4×4/],
    [{ m: 4, n: 5, k: 4, lda: 4, ldb: 5, ldc: 4 }, /ldc is 4 but C is 4×5/],
    [{ m: -1, n: 4, k: 4, lda: 4, ldb: 4, ldc: 4 }, /m must be an integer ≥ 0/],
    [{ m: 4, n: 4, k: 4, lda: 4, ldb: 4, ldc: 4, batch: 2, strideA: 16, strideB: 16 }, /strideC is 0 with batch 2/],
  ])('%o', (args, msg) => {
    const ptr = p();
    expect(() => sgemm({ aPtr: ptr, bPtr: ptr, cPtr: ptr, ...args })).toThrow(msg);
    heap().free(ptr);
  });

  it('pointers: alignment and heap bounds', () => {
    const ptr = p();
    expect(() => sgemm({ m: 2, n: 2, k: 2, aPtr: ptr + 2, lda: 2, bPtr: ptr, ldb: 2, cPtr: ptr, ldc: 2 })).toThrow(/aPtr .* not 4-byte aligned/);
    const cap = heap().capacity;
    expect(() => sgemm({ m: 2, n: 2, k: 2, aPtr: ptr, lda: 2, bPtr: cap - 8, ldb: 2, cPtr: ptr, ldc: 2 })).toThrow(/b \(2×2.*past the heap/);
    expect(() => sgemm({ m: 2, n: 2, k: 2, aPtr: ptr, lda: 2, bPtr: ptr, ldb: 2, cPtr: ptr, ldc: 2 }, { threads: 0 })).toThrow(/threads must be an integer ≥ 1/);
    heap().free(ptr);
  });
});
