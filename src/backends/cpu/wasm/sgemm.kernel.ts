/**
 * Generator of the f32 matrix product C = α·op(A)·op(B) + β·C as a
 * WebAssembly SIMD module, structured after Goto and van de Geijn, "Anatomy
 * of High-Performance Matrix Multiplication" (ACM TOMS 34(3), 2008) and the
 * BLIS refinement (Van Zee and van de Geijn, ACM TOMS 41(3), 2015):
 *
 *   for jc in N by NC            B panel (KC×NC) packed once, reused over all of M
 *     for pc in K by KC
 *       pack op(B)[pc:, jc:]     into NR-wide slivers, zero padded
 *       for ic in M by MC        A block (MC×KC) packed, stays in L2
 *         pack op(A)[ic:, pc:]   into MR-tall slivers, zero padded
 *         for jr in NC by NR     one B sliver (KC×NR) stays in L1 ...
 *           for ir in MC by MR   ... while A slivers stream past it
 *             micro-kernel: an MR×NR tile of C held in registers over KC steps
 *
 * Transposes only change how the packing routines read (the micro-kernel
 * always sees the same packed layout), so AᵀB and ABᵀ run as fast as AB, and
 * any leading dimension works, so strided 2-D views need no copies.
 *
 * The register tile is chosen for V8's code generator: it hoists all loads of
 * an iteration ahead of the multiply-adds and has about 15 usable xmm
 * registers, so only tiles with 8-9 accumulators (4×8, 2×16, 3×12) avoid
 * spills; unrolling k also spills. See docs/decisions.md.
 *
 * Numerics: every element of C sums its k products in the same order
 * whatever the tile position, and partial tiles use the same rounding steps
 * as full ones (α·acc, then + β·C, never fused), so results do not depend on
 * how the caller splits M, N or the batch across threads.
 */
import {
  ModuleBuilder, block, brIf, callS, doWhile, f32, f32x4, forUp, get, i32, if_, madd, seq, set, v128,
  type Expr, type FuncRef, type Ins, type Local,
} from './emit.js';

export interface SgemmConfig {
  /** use f32x4.relaxed_madd (fused) in the micro-kernel; else mul + add */
  fused: boolean;
  /** import the memory as shared (it must match the heap's memory) */
  shared: boolean;
  /** register tile rows (MR) and columns (NR, a multiple of 4) */
  mr: number;
  nr: number;
  /** cache blocking: depth KC, rows MC (a multiple of MR), columns NC (a multiple of NR) */
  kc: number;
  mc: number;
  nc: number;
  /** also export the micro-kernel as `kernel(a, b, kc, c, ldcBytes, alpha, beta)` (for measuring it alone) */
  exportKernel?: boolean;
}

export type SgemmBlocking = Pick<SgemmConfig, 'mr' | 'nr' | 'kc' | 'mc' | 'nc'>;

export const DEFAULT_SGEMM: SgemmBlocking = { mr: 4, nr: 8, kc: 256, mc: 64, nc: 512 };

/** Bytes of per-thread scratch the module needs: a C tile, the packed A block and the packed B panel. */
export function sgemmScratchBytes(cfg: SgemmBlocking): number {
  const round64 = (x: number): number => Math.ceil(x / 64) * 64;
  return round64(cfg.mr * cfg.nr * 4) + round64(cfg.mc * cfg.kc * 4) + round64(cfg.kc * cfg.nc * 4);
}

/**
 * The micro-kernel: C[0:MR, 0:NR] = α·(Ā·B̄) + β·C over `kc` steps, where Ā
 * is an MR-tall packed sliver (MR floats per k) and B̄ an NR-wide one (NR
 * floats per k). β = 0 never reads C (BLAS semantics: NaNs in C vanish).
 */
function microKernel(m: ModuleBuilder, c: SgemmConfig): FuncRef {
  const { mr, nr } = c;
  const nv = nr / 4;
  return m.func('kernel', { a: 'i32', b: 'i32', kc: 'i32', cp: 'i32', ldcB: 'i32', alpha: 'f32', beta: 'f32' }, null, (p, f) => {
    const acc: Local<'v128'>[][] = [];
    for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, () => f.local('v128')));
    const bv = Array.from({ length: nv }, () => f.local('v128'));
    const av = f.local('v128');
    const aEnd = f.local('i32');
    const row = f.local('i32');
    const va = f.local('v128');
    const vb = f.local('v128');
    const step: Ins[] = [];
    for (let j = 0; j < nv; j++) step.push(set(bv[j]!, v128.load(get(p.b), 16 * j)));
    for (let r = 0; r < mr; r++) {
      step.push(set(av, v128.load32Splat(get(p.a), 4 * r)));
      for (let j = 0; j < nv; j++) step.push(set(acc[r]![j]!, madd(c.fused, get(av), get(bv[j]!), get(acc[r]![j]!))));
    }
    step.push(set(p.a, i32.add(get(p.a), mr * 4)), set(p.b, i32.add(get(p.b), nr * 4)));
    const store = (withBeta: boolean): Ins[] => {
      const out: Ins[] = [set(row, get(p.cp))];
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nv; j++) {
          let v: Expr<'v128'> = f32x4.mul(get(acc[r]![j]!), get(va));
          if (withBeta) v = f32x4.add(v, f32x4.mul(v128.load(get(row), 16 * j, 2), get(vb)));
          out.push(v128.store(get(row), v, 16 * j, 2));
        }
        if (r + 1 < mr) out.push(set(row, i32.add(get(row), get(p.ldcB))));
      }
      return out;
    };
    return [
      ...acc.flat().map((x) => set(x, v128.zero())),
      set(aEnd, i32.add(get(p.a), i32.mul(get(p.kc), mr * 4))),
      doWhile(i32.ltU(get(p.a), get(aEnd)), ...step),
      set(va, f32x4.splat(get(p.alpha))),
      set(vb, f32x4.splat(get(p.beta))),
      if_(f32.eq(get(p.beta), f32.const(0)), store(false), store(true)),
    ];
  }, { export: c.exportKernel ?? false });
}

/**
 * Pack `rows` rows (stride `si` elements) by `kc` columns (stride `sk`) of a
 * matrix at byte address `src` into W-tall slivers: sliver s holds, for each
 * k, the W values X[s·W + w, k]; rows past `rows` are zero. One of the
 * strides is 1 (row-major storage, read as is or transposed).
 */
function packer(m: ModuleBuilder, w: number, name: string): FuncRef {
  return m.func(name, { dst: 'i32', src: 'i32', si: 'i32', sk: 'i32', rows: 'i32', kc: 'i32' }, null, (p, f) => {
    const s = f.local('i32'); // first row of the sliver
    const k = f.local('i32');
    const q = f.local('i32');
    const sp = f.local('i32');
    const dp = f.local('i32');
    const left = f.local('i32');
    const siB = f.local('i32');
    const skB = f.local('i32');
    const sliverB = f.local('i32');
    // one row w of a sliver, scalar: dst[k·W + w] = src[w·si + k·sk]
    const scalarRow = (wIdx: Expr<'i32'>): Ins =>
      seq(
        set(sp, i32.add(get(p.src), i32.mul(i32.add(get(s), wIdx), get(siB)))),
        set(dp, i32.add(get(p.dst), i32.shl(wIdx, 2))),
        forUp(k, 0, get(p.kc), 1, f32.store(get(dp), f32.load(get(sp))), set(sp, i32.add(get(sp), get(skB))), set(dp, i32.add(get(dp), w * 4))),
      );
    const contiguous: Ins[] = [
      set(sp, i32.add(get(p.src), i32.shl(get(s), 2))),
      forUp(
        k, 0, get(p.kc), 1,
        ...Array.from({ length: w / 4 }, (_, j) => v128.store(get(p.dst), v128.load(get(sp), 16 * j, 2), 16 * j)),
        set(sp, i32.add(get(sp), get(skB))),
        set(p.dst, i32.add(get(p.dst), w * 4)),
      ),
    ];
    // Rows strided, k contiguous (A as stored, or Bᵀ): 4×4 blocks are loaded as
    // four rows and transposed in registers with two rounds of shuffles.
    const rowOff = Array.from({ length: w }, () => f.local('i32'));
    const base = f.local('i32');
    const k4 = f.local('i32');
    const r = Array.from({ length: 4 }, () => f.local('v128'));
    const t = Array.from({ length: 4 }, () => f.local('v128'));
    const block4 = (g: number): Ins[] => {
      const at = (j: number): Expr<'i32'> => i32.add(get(sp), get(rowOff[4 * g + j]!));
      return [
        ...r.map((rj, j) => set(rj, v128.load(at(j), 0, 2))),
        set(t[0]!, f32x4.shuffle(get(r[0]!), get(r[1]!), [0, 4, 1, 5])),
        set(t[1]!, f32x4.shuffle(get(r[0]!), get(r[1]!), [2, 6, 3, 7])),
        set(t[2]!, f32x4.shuffle(get(r[2]!), get(r[3]!), [0, 4, 1, 5])),
        set(t[3]!, f32x4.shuffle(get(r[2]!), get(r[3]!), [2, 6, 3, 7])),
        v128.store(get(dp), f32x4.shuffle(get(t[0]!), get(t[2]!), [0, 1, 4, 5]), 16 * g),
        v128.store(get(dp), f32x4.shuffle(get(t[0]!), get(t[2]!), [2, 3, 6, 7]), 16 * g + w * 4),
        v128.store(get(dp), f32x4.shuffle(get(t[1]!), get(t[3]!), [0, 1, 4, 5]), 16 * g + w * 8),
        v128.store(get(dp), f32x4.shuffle(get(t[1]!), get(t[3]!), [2, 3, 6, 7]), 16 * g + w * 12),
      ];
    };
    const transposing: Ins[] = [
      set(base, i32.add(get(p.src), i32.mul(get(s), get(siB)))),
      set(sp, get(base)),
      set(dp, get(p.dst)),
      forUp(k, 0, get(k4), 4, ...Array.from({ length: w / 4 }, (_, g) => block4(g)).flat(), set(sp, i32.add(get(sp), 16)), set(dp, i32.add(get(dp), w * 16))),
      forUp(
        k, get(k4), get(p.kc), 1,
        set(sp, i32.add(get(base), i32.shl(get(k), 2))),
        ...rowOff.map((o, j) => f32.store(get(dp), f32.load(i32.add(get(sp), get(o))), 4 * j)),
        set(dp, i32.add(get(dp), w * 4)),
      ),
      set(p.dst, i32.add(get(p.dst), get(sliverB))),
    ];
    const partial: Ins[] = [
      // zero the whole sliver, then copy the rows that exist
      set(dp, get(p.dst)),
      set(q, i32.add(get(p.dst), get(sliverB))),
      doWhile(i32.ltU(get(dp), get(q)), v128.store(get(dp), v128.zero()), set(dp, i32.add(get(dp), 16))),
      forUp(q, 0, get(left), 1, scalarRow(get(q))),
    ];
    return [
      set(siB, i32.shl(get(p.si), 2)),
      set(skB, i32.shl(get(p.sk), 2)),
      set(sliverB, i32.mul(get(p.kc), w * 4)),
      set(k4, i32.and(get(p.kc), -4)),
      ...rowOff.map((o, j) => set(o, i32.mul(get(siB), j))),
      forUp(
        s, 0, get(p.rows), w,
        set(left, i32.sub(get(p.rows), get(s))),
        if_(i32.ltS(get(left), w), partial, [if_(i32.eq(get(p.si), 1), contiguous, transposing)]),
      ),
    ];
  });
}

/** C[0:mr, 0:nr] = T + β·C for a partial tile T (NR floats per row); β = 0 never reads C. */
function merge(m: ModuleBuilder, nr: number): FuncRef {
  return m.func('merge', { t: 'i32', cp: 'i32', ldcB: 'i32', rows: 'i32', cols: 'i32', beta: 'f32' }, null, (p, f) => {
    const r = f.local('i32');
    const j = f.local('i32');
    const cj = f.local('i32');
    const tj = f.local('i32');
    const row = (withBeta: boolean): Ins =>
      forUp(
        j, 0, get(p.cols), 1,
        set(cj, i32.add(get(p.cp), i32.shl(get(j), 2))),
        set(tj, i32.add(get(p.t), i32.shl(get(j), 2))),
        f32.store(get(cj), withBeta ? f32.add(f32.load(get(tj)), f32.mul(f32.load(get(cj)), get(p.beta))) : f32.load(get(tj))),
      );
    const loopRows = (withBeta: boolean): Ins =>
      forUp(r, 0, get(p.rows), 1, row(withBeta), set(p.cp, i32.add(get(p.cp), get(p.ldcB))), set(p.t, i32.add(get(p.t), nr * 4)));
    return [if_(f32.eq(get(p.beta), f32.const(0)), [loopRows(false)], [loopRows(true)])];
  });
}

/** C = β·C on an m×n block (used when k = 0 or α = 0). */
function scale(m: ModuleBuilder): FuncRef {
  return m.func('scale', { cp: 'i32', ldcB: 'i32', rows: 'i32', cols: 'i32', beta: 'f32' }, null, (p, f) => {
    const r = f.local('i32');
    const j = f.local('i32');
    const cj = f.local('i32');
    const val = (): Expr<'f32'> => f32.mul(f32.load(get(cj)), get(p.beta));
    const body = (zero: boolean): Ins =>
      forUp(
        r, 0, get(p.rows), 1,
        forUp(j, 0, get(p.cols), 1, set(cj, i32.add(get(p.cp), i32.shl(get(j), 2))), f32.store(get(cj), zero ? f32.const(0) : val())),
        set(p.cp, i32.add(get(p.cp), get(p.ldcB))),
      );
    return [if_(f32.eq(get(p.beta), f32.const(0)), [body(true)], [body(false)])];
  });
}

/**
 * The module: exports `sgemm(scratch, transA, transB, m, n, k, alpha, a, lda,
 * b, ldb, beta, c, ldc, batch, strideA, strideB, strideC)`. Pointers and
 * `scratch` are byte offsets into the imported memory; leading dimensions and
 * batch strides count elements. `scratch` must hold `sgemmScratchBytes(cfg)`
 * bytes, 16-byte aligned, private to the calling thread.
 */
export function buildSgemm(cfg: SgemmConfig): Uint8Array<ArrayBuffer> {
  const { mr, nr, kc: KC, mc: MC, nc: NC } = cfg;
  if (nr % 4 !== 0 || MC % mr !== 0 || NC % nr !== 0) throw new Error(`buildSgemm: bad blocking ${JSON.stringify(cfg)}`);
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: cfg.shared });
  const kern = microKernel(m, cfg);
  const packA = packer(m, mr, 'packA');
  const packB = packer(m, nr, 'packB');
  const mergeTile = merge(m, nr);
  const scaleC = scale(m);
  const round64 = (x: number): number => Math.ceil(x / 64) * 64;
  const tileOff = 0;
  const aOff = round64(mr * nr * 4);
  const bOff = aOff + round64(MC * KC * 4);
  m.func(
    'sgemm',
    {
      scratch: 'i32', transA: 'i32', transB: 'i32', m: 'i32', n: 'i32', k: 'i32', alpha: 'f32',
      a: 'i32', lda: 'i32', b: 'i32', ldb: 'i32', beta: 'f32', c: 'i32', ldc: 'i32',
      batch: 'i32', strideA: 'i32', strideB: 'i32', strideC: 'i32',
    },
    null,
    (p, f) => {
      const L = (): Local<'i32'> => f.local('i32');
      const [bi, jc, pc, ic, jr, ir, nc, kc, mc, nrE, mrE, ldcB, cp, pa, pb] = Array.from({ length: 15 }, L);
      const [asi, ask, bsj, bsk] = [L(), L(), L(), L()];
      const betaEff = f.local('f32');
      const tile = i32.add(get(p.scratch), tileOff);
      const packedA = i32.add(get(p.scratch), aOff);
      const packedB = i32.add(get(p.scratch), bOff);
      // op(A)[i, p] = transA ? A[p·lda + i] : A[i·lda + p]; op(B)[p, j] = transB ? B[j·ldb + p] : B[p·ldb + j]
      const strides: Ins[] = [
        if_(get(p.transA), [set(asi, 1), set(ask, get(p.lda))], [set(asi, get(p.lda)), set(ask, 1)]),
        if_(get(p.transB), [set(bsj, get(p.ldb)), set(bsk, 1)], [set(bsj, 1), set(bsk, get(p.ldb))]),
        set(ldcB, i32.shl(get(p.ldc), 2)),
      ];
      const addr = (base: Local<'i32'>, i: Expr<'i32'>, si: Local<'i32'>, j: Expr<'i32'>, sj: Local<'i32'>): Expr<'i32'> =>
        i32.add(get(base), i32.shl(i32.add(i32.mul(i, get(si)), i32.mul(j, get(sj))), 2));
      const tileLoop: Ins = forUp(
        ir, 0, get(mc), mr,
        set(mrE, i32.minS(mr, i32.sub(get(mc), get(ir)))),
        set(cp, i32.add(get(p.c), i32.shl(i32.add(i32.mul(i32.add(get(ic), get(ir)), get(p.ldc)), i32.add(get(jc), get(jr))), 2))),
        set(pa, i32.add(packedA, i32.shl(i32.mul(get(ir), get(kc)), 2))),
        if_(
          i32.and(i32.eq(get(mrE), mr), i32.eq(get(nrE), nr)),
          [callS(kern, get(pa), get(pb), get(kc), get(cp), get(ldcB), get(p.alpha), get(betaEff))],
          [
            callS(kern, get(pa), get(pb), get(kc), tile, i32.const(nr * 4), get(p.alpha), f32.const(0)),
            callS(mergeTile, tile, get(cp), get(ldcB), get(mrE), get(nrE), get(betaEff)),
          ],
        ),
      );
      const one: Ins = if_(
        i32.or(i32.eqz(get(p.k)), f32.eq(get(p.alpha), f32.const(0))),
        [callS(scaleC, get(p.c), get(ldcB), get(p.m), get(p.n), get(p.beta))],
        [
          forUp(
            jc, 0, get(p.n), NC,
            set(nc, i32.minS(NC, i32.sub(get(p.n), get(jc)))),
            forUp(
              pc, 0, get(p.k), KC,
              set(kc, i32.minS(KC, i32.sub(get(p.k), get(pc)))),
              set(betaEff, get(p.beta)),
              if_(i32.gtS(get(pc), 0), [set(betaEff, f32.const(1))]),
              callS(packB, packedB, addr(p.b, get(pc), bsk, get(jc), bsj), get(bsj), get(bsk), get(nc), get(kc)),
              forUp(
                ic, 0, get(p.m), MC,
                set(mc, i32.minS(MC, i32.sub(get(p.m), get(ic)))),
                callS(packA, packedA, addr(p.a, get(ic), asi, get(pc), ask), get(asi), get(ask), get(mc), get(kc)),
                forUp(
                  jr, 0, get(nc), nr,
                  set(nrE, i32.minS(nr, i32.sub(get(nc), get(jr)))),
                  set(pb, i32.add(packedB, i32.shl(i32.mul(get(jr), get(kc)), 2))),
                  tileLoop,
                ),
              ),
            ),
          ),
        ],
      );
      return [
        ...strides,
        block(
          brIf(0, i32.or(i32.leS(get(p.m), 0), i32.leS(get(p.n), 0))),
          forUp(
            bi, 0, get(p.batch), 1,
            one,
            set(p.a, i32.add(get(p.a), i32.shl(get(p.strideA), 2))),
            set(p.b, i32.add(get(p.b), i32.shl(get(p.strideB), 2))),
            set(p.c, i32.add(get(p.c), i32.shl(get(p.strideC), 2))),
          ),
        ),
      ];
    },
    { export: true },
  );
  return m.toBytes();
}
