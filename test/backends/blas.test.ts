/**
 * The optional system-BLAS path (src/backends/cpu/blas.ts): `cblas_sgemm` on
 * the heap against the float64 reference (every transpose, odd sizes, padded
 * leading dimensions, batches, α and β, a NaN-poisoned C with β = 0), the
 * matmul op through BLAS against the WASM kernel, the zero-copy hand-over of
 * heap views to C, and the switches: `setBlas('off')`, `NABLA_BLAS=off`, a bad
 * `NABLA_BLAS` path, the size threshold, and the one-time log line.
 *
 * Skipped, with the reason printed, where no system BLAS or no koffi is found
 * (`apt-get install libopenblas0` and `npm install` provide both).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { blasCallCount, blasLibrary, blasMinFlops, blasPathLine, blasSgemm, blasStatus, setBlas, setBlasMinFlops } from '../../src/backends/cpu/blas.js';
import { heap } from '../../src/core/heap.js';
import * as nb from '../../src/index.js';
import { freeMatrix, freshSeed, heapMatrix, mulberry32, refGemm, relErr, view, type HeapMatrix } from './gemmHelpers.js';

const present = blasStatus();
if (!present.library) console.info(`blas.test: skipping the BLAS checks: ${present.reason}`);
const withBlas = describe.skipIf(!present.library);

afterAll(() => {
  setBlas(undefined);
  setBlasMinFlops(undefined);
});

interface Shape3 {
  m: number;
  n: number;
  k: number;
}

/** Run one product through blasSgemm on padded, strided operands and return the worst relative error over the batch. */
function checkProduct(seed: number, { m, n, k }: Shape3, transA: boolean, transB: boolean, opts: { batch?: number; alpha?: number; beta?: number } = {}): number {
  const rng = mulberry32(seed);
  const batch = opts.batch ?? 1;
  const [alpha, beta] = [opts.alpha ?? 1, opts.beta ?? 0];
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  // leading dimensions wider than the matrix and batch gaps, padded with NaN: a read outside the matrix shows
  const a = heapMatrix(rng, ar, ac, { ld: ac + 3, batch, stride: ar * (ac + 3) + 5 });
  const b = heapMatrix(rng, br, bc, { ld: bc + 1, batch, stride: br * (bc + 1) + 2 });
  const c = heapMatrix(rng, m, n, { ld: n + 2, batch, stride: m * (n + 2) + 1 });
  if (beta === 0) view(c).fill(Number.NaN); // β = 0 must not read C
  try {
    const before = view(c).slice();
    const o = { transA, transB, m, n, k, alpha, beta };
    const wants = Array.from({ length: batch }, (_, q) => refGemm(o, a, a.stride, b, b.stride, before, c, c.stride, q));
    blasSgemm({ ...o, aPtr: a.ptr, lda: a.ld, bPtr: b.ptr, ldb: b.ld, cPtr: c.ptr, ldc: c.ld, batch, strideA: a.stride, strideB: b.stride, strideC: c.stride });
    const got = view(c);
    // the padding between rows and batches of C is untouched
    for (let q = 0; q < batch; q++) for (let i = 0; i < m; i++) for (let j = n; j < c.ld; j++) expect(Object.is(got[q * c.stride + i * c.ld + j], before[q * c.stride + i * c.ld + j])).toBe(true);
    return Math.max(...wants.map((w, q) => relErr(got, q * c.stride, c.ld, w, m, n)));
  } finally {
    freeMatrix(a, b, c as HeapMatrix);
  }
}

withBlas('cblas_sgemm on the heap', () => {
  const flags = [[false, false], [true, false], [false, true], [true, true]] as const;
  const sizes: Shape3[] = [
    { m: 1, n: 1, k: 1 },
    { m: 7, n: 33, k: 1 },
    { m: 33, n: 7, k: 257 },
    { m: 257, n: 33, k: 7 },
    { m: 64, n: 257, k: 33 },
  ];
  for (const [tA, tB] of flags) {
    it.each(sizes)(`transA ${tA} transB ${tB}: %o`, (s) => {
      const seed = freshSeed();
      expect(checkProduct(seed, s, tA, tB), `seed ${seed}`).toBeLessThan(1e-5);
    });
  }

  it('batches with strides, α and β', () => {
    const seed = freshSeed();
    expect(checkProduct(seed, { m: 33, n: 17, k: 9 }, false, true, { batch: 3, alpha: -0.5, beta: 0.25 }), `seed ${seed}`).toBeLessThan(1e-5);
    expect(checkProduct(seed + 1, { m: 5, n: 40, k: 12 }, true, false, { batch: 4, beta: 0 }), `seed ${seed}`).toBeLessThan(1e-5);
  });

  it('counts each matrix of a batch', () => {
    const before = blasCallCount();
    checkProduct(1, { m: 2, n: 2, k: 2 }, false, false, { batch: 5 });
    expect(blasCallCount() - before).toBe(5);
  });

  it('hands C the views’ own memory: no copy', () => {
    // libc's memset returns its first argument: the address koffi passed for a heap view
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(p: string): { func(s: string): (...a: unknown[]) => unknown };
      address(p: unknown): bigint;
    };
    const memset = koffi.load('libc.so.6').func('float *memset(float *s, int c, size_t n)');
    const h = heap();
    const p = h.alloc(1 << 20);
    const q = h.alloc(1 << 20);
    try {
      const at = (ptr: number, len: number): bigint => koffi.address(memset(new Float32Array(h.buffer, ptr, len), 0, 0));
      const base = at(p, 16) - BigInt(p);
      // every view maps to heap base + its byte offset, whatever its length: C works on the heap itself
      expect(at(q, 1 << 18) - BigInt(q)).toBe(base);
      expect(at(p + 64, 16) - BigInt(p + 64)).toBe(base);
      expect(at(p, 1 << 18)).toBe(base + BigInt(p));
      // and what C writes lands in the heap
      memset(new Float32Array(h.buffer, q, 4), 0x40, 16);
      expect(new Float32Array(h.buffer, q, 4)[0]).toBe(new Float32Array(new Uint32Array([0x40404040]).buffer)[0]);
    } finally {
      h.free(p);
      h.free(q);
    }
  });
});

withBlas('the matmul op on the BLAS path', () => {
  it('equals the WebAssembly kernel (every transpose, a broadcast batch) and runs on BLAS only above the threshold', () => {
    const [k1, k2] = nb.splitKey(nb.randomKey(freshSeed()));
    const a = nb.normal(k1!, [3, 70, 65], { dtype: 'f32' });
    const b = nb.normal(k2!, [65, 70], { dtype: 'f32' });
    try {
      for (const [tA, tB] of [[false, false], [true, true]] as const) {
        const [x, y] = tA ? [nb.transpose(a), nb.transpose(b)] : [a, b];
        const run = (): Float64Array => {
          const c = nb.matmulT(x, y, tA, tB);
          const v = c.toF64();
          c.dispose();
          return v;
        };
        setBlas('off');
        const wasm = run();
        setBlas('auto');
        setBlasMinFlops(0);
        const before = blasCallCount();
        const viaBlas = run();
        expect(blasCallCount() - before).toBe(3); // one per matrix of the broadcast batch
        let worst = 0;
        for (let i = 0; i < wasm.length; i++) worst = Math.max(worst, Math.abs(viaBlas[i]! - wasm[i]!) / (1 + Math.abs(wasm[i]!)));
        expect(worst).toBeLessThan(1e-5);
        setBlasMinFlops(2 * 70 * 70 * 65 + 1); // just above one matrix: WebAssembly again
        const again = blasCallCount();
        run();
        expect(blasCallCount()).toBe(again);
        setBlasMinFlops(undefined);
        if (tA) {
          x.dispose();
          y.dispose();
        }
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("setBlas('off') routes every product to WebAssembly and says why", () => {
    setBlas('off');
    setBlasMinFlops(0);
    const before = blasCallCount();
    const [k1, k2] = nb.splitKey(nb.randomKey(3));
    const c = nb.matmul(nb.normal(k1!, [40, 40], { dtype: 'f32' }), nb.normal(k2!, [40, 40], { dtype: 'f32' }));
    c.dispose();
    expect(blasCallCount()).toBe(before);
    expect(blasLibrary()).toBeUndefined();
    expect(blasPathLine()).toMatch(/WebAssembly SIMD \(no system BLAS: turned off by setBlas\('off'\)\)/);
    expect(() => blasSgemm({ m: 1, n: 1, k: 1, aPtr: 0, lda: 1, bPtr: 0, ldb: 1, cPtr: 0, ldc: 1 })).toThrow(/no system BLAS in use/);
    setBlas(undefined);
    setBlasMinFlops(undefined);
    expect(blasLibrary()).toBeDefined();
  });
});

describe('settings', () => {
  it('validates setBlas and setBlasMinFlops', () => {
    expect(() => setBlas('' as string)).toThrow(/setBlas: setting must be/);
    expect(() => setBlasMinFlops(-1)).toThrow(/flops must be a number ≥ 0.*got -1/);
    setBlasMinFlops(123);
    expect(blasMinFlops()).toBe(123);
    setBlasMinFlops(undefined);
    expect(blasMinFlops()).toBeGreaterThan(0);
  });

  it('a library that is not a BLAS is refused by name', () => {
    expect(() => setBlas('/nonexistent/libnotblas.so')).toThrow(/setBlas=\/nonexistent\/libnotblas.so: cannot (use it as a BLAS|load a system BLAS)/);
    setBlas(undefined);
  });
});

/** Run a matmul of 256³ in a fresh Node with `env`; returns its exit status, stdout and stderr. */
function child(env: Record<string, string>): { status: number | null; out: string; err: string } {
  const blas = fileURLToPath(new URL('../../src/backends/cpu/blas.ts', import.meta.url));
  const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
  const code = `
    const nb = await import(${JSON.stringify(index)});
    const blas = await import(${JSON.stringify(blas)});
    const [k1, k2] = nb.splitKey(nb.randomKey(1));
    const c = nb.matmul(nb.normal(k1, [256, 256], { dtype: 'f32' }), nb.normal(k2, [256, 256], { dtype: 'f32' }));
    nb.matmul(c, c).dispose();
    console.log(JSON.stringify({ calls: blas.blasCallCount() }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('NABLA_BLAS in a fresh process', () => {
  it('off: products run on WebAssembly, said once on stderr', () => {
    const r = child({ NABLA_BLAS: 'off' });
    expect(r.status, r.err).toBe(0);
    expect(JSON.parse(r.out.trim().split('\n').at(-1)!)).toEqual({ calls: 0 });
    const lines = r.err.split('\n').filter((l) => l.startsWith('nabla: float32 matmuls'));
    expect(lines).toEqual(['nabla: float32 matmuls run on WebAssembly SIMD (no system BLAS: turned off by NABLA_BLAS=off)']);
  });

  it('a bad path: the first large product fails naming it', () => {
    const r = child({ NABLA_BLAS: '/nonexistent/libblas.so' });
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/NABLA_BLAS=\/nonexistent\/libblas.so: cannot (use it as a BLAS|load a system BLAS)/);
  });

  it.skipIf(!present.library)('auto: both products on BLAS, said once, and the process exits cleanly', () => {
    const r = child({ NABLA_BLAS: 'auto' });
    expect(r.status, r.err).toBe(0);
    expect(JSON.parse(r.out.trim().split('\n').at(-1)!)).toEqual({ calls: 2 });
    const lines = r.err.split('\n').filter((l) => l.startsWith('nabla: float32 matmuls'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/run on the system BLAS .*libopenblas|run on the system BLAS/);
  });
});
