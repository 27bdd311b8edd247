/**
 * Generator of the selective-scan kernels (Mamba's S6 recurrence, A. Gu and
 * T. Dao, arXiv 2312.00752, Algorithm 2) as a WebAssembly SIMD module over the
 * CPU heap. Math and shapes: src/zoo/ssm/selectiveScanLoops.ts, whose float64
 * loops these kernels mirror in float32.
 *
 * Vectorised across four channels at a time (u, Δ, z are token-major
 * (L, d), so four neighbouring channels are one v128 load); the state of a
 * group of four channels, N vectors, sits in a scratch row that stays in L1.
 * Each token costs N exponentials eˣ (scanSimd.ts) and a few multiply-adds;
 * Δ's bias and softplus are applied on the fly (flags: 1 D, 2 z, 4 softplus,
 * 8 bias), so nothing of size L·d is staged.
 *
 * `fwd` writes out, the last state and the checkpoints (the state entering
 * every `chunk`-th token). `bwd` walks the chunks from the last and, within a
 * chunk, every group of four channels: it recomputes the group's decays Āₜ
 * and states hₜ from its checkpoint into scratch (chunk·N vectors each,
 * ~64 KiB at chunk 256, N 16), then runs the adjoint recurrence backwards
 * through it, carrying each group's adjoint state from chunk to chunk in
 * scratch. Chunks outside keep a chunk's token rows and accumulators in
 * cache across groups, so the time per token does not grow with L (walking
 * every group over the whole sequence did: 16 MB of accumulators at
 * L = 32k, streamed once per group). dB and dC are sums over channels; they accumulate per
 * lane into (L, N, 4) buffers that the caller reduces, so the inner loop has
 * no horizontal adds. Pointers are byte offsets, already advanced to one
 * batch element by the caller; channels [c0, c1) are a multiple of 4.
 */
import { ModuleBuilder, brIf, f32, f32x4, forUp, get, i32, if_, loop, madd, seq, set, v128, type Expr, type Ins, type Local } from './emit.js';
import { constF32x4, expEmitter, softplusEmitter, vx } from './scanSimd.js';

/** Bytes of scratch `fwd` needs. */
export const scanFwdScratch = (N: number): number => 16 * N;
/** Bytes of scratch `bwd` needs for channels [c0, c1) spanning at most d channels: λ, dA, dD, dbias per group of four, then the chunk's a and h rows. */
export const scanBwdScratch = (N: number, chunk: number, d: number): number => d * (8 * N + 8) + 16 * N * (chunk + chunk + 1);

/** `for (i = hi − 1; i >= lo; i--)` */
function forDown(i: Local<'i32'>, hi: Expr<'i32'>, lo: Expr<'i32'>, ...xs: Ins[]): Ins {
  return seq(set(i, hi), if_(i32.gtS(get(i), lo), [loop(set(i, i32.sub(get(i), 1)), ...xs, brIf(0, i32.gtS(get(i), lo)))]));
}

const splat = (addr: Expr<'i32'>): Expr<'v128'> => v128.load32Splat(addr);

/**
 * Δ for one token and four channels: dv = softplus(Δ_raw + bias) with each
 * part as `flags` says (4: softplus, 8: bias, the bias already in `bv`), and
 * σ(Δ_raw + bias) into `sig` when asked (for dΔ_raw in the backward pass).
 */
function stepSize(
  dv: Local<'v128'>, sig: Local<'v128'> | null, r: Local<'v128'>, bv: Local<'v128'>, raw: Local<'i32'>, rowD: Local<'i32'>, flags: Local<'i32'>,
  softplus: (sp: Local<'v128'>, sig: Local<'v128'> | null, r: Local<'v128'>) => Ins,
): Ins[] {
  return [
    set(r, v128.load(i32.add(get(raw), get(rowD)))),
    if_(i32.and(get(flags), 8), [set(r, f32x4.add(get(r), get(bv)))]),
    if_(i32.and(get(flags), 4), [softplus(dv, sig, r)], [set(dv, get(r))]),
  ];
}
const vadd = (addr: Expr<'i32'>, v: Expr<'v128'>): Ins => v128.store(addr, f32x4.add(v128.load(addr), v));

export function buildScan(opts: { fused: boolean; shared: boolean }): Uint8Array<ArrayBuffer> {
  const { fused } = opts;
  const m = new ModuleBuilder().importMemory('env', 'memory', { min: 1, max: 65536, shared: opts.shared });
  const mad = (a: Expr<'v128'>, b: Expr<'v128'>, c: Expr<'v128'>): Expr<'v128'> => madd(fused, a, b, c);

  m.func(
    'fwd',
    { sc: 'i32', u: 'i32', dl: 'i32', bias: 'i32', At: 'i32', B: 'i32', C: 'i32', D: 'i32', z: 'i32', out: 'i32', last: 'i32', ckpt: 'i32', L: 'i32', d: 'i32', N: 'i32', chunk: 'i32', flags: 'i32', c0: 'i32', c1: 'i32' },
    null,
    (p, f) => {
      const exp = expEmitter(f, fused);
      const softplus = softplusEmitter(f, fused);
      const [c, t, n, cb, d4, rowD, rowN, tc, kp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
      const [dv, uv, duv, y, a, hn, Dv, e, r, bv] = Array.from({ length: 10 }, () => f.local('v128'));
      const hAt = (): Expr<'i32'> => i32.add(get(p.sc), i32.shl(get(n), 4));
      const hasD = i32.and(get(p.flags), 1);
      const hasZ = i32.and(get(p.flags), 2);
      const step: Ins[] = [
        // checkpoint: the state entering token t, every `chunk` tokens
        if_(i32.eqz(get(tc)), [
          forUp(n, 0, get(p.N), 1, v128.store(i32.add(get(kp), i32.mul(get(n), get(d4))), v128.load(hAt()))),
          set(kp, i32.add(get(kp), i32.mul(get(p.N), get(d4)))),
          set(tc, get(p.chunk)),
        ]),
        set(tc, i32.sub(get(tc), 1)),
        set(rowD, i32.add(i32.mul(get(t), get(d4)), get(cb))),
        set(rowN, i32.add(get(p.B), i32.shl(i32.mul(get(t), get(p.N)), 2))),
        ...stepSize(dv, null, r, bv, p.dl, rowD, p.flags, softplus),
        set(uv, v128.load(i32.add(get(p.u), get(rowD)))),
        set(duv, f32x4.mul(get(dv), get(uv))),
        set(y, v128.zero()),
        forUp(n, 0, get(p.N), 1,
          exp(a, f32x4.mul(get(dv), v128.load(i32.add(i32.add(get(p.At), i32.mul(get(n), get(d4))), get(cb))))),
          set(hn, mad(get(a), v128.load(hAt()), f32x4.mul(get(duv), splat(i32.add(get(rowN), i32.shl(get(n), 2)))))),
          v128.store(hAt(), get(hn)),
          set(y, mad(get(hn), splat(i32.add(i32.add(get(p.C), i32.sub(get(rowN), get(p.B))), i32.shl(get(n), 2))), get(y))),
        ),
        if_(hasD, [set(y, mad(get(Dv), get(uv), get(y)))]),
        if_(hasZ, [
          set(a, v128.load(i32.add(get(p.z), get(rowD)))),
          exp(e, vx.neg(get(a))),
          set(y, vx.div(f32x4.mul(get(y), get(a)), f32x4.add(get(e), constF32x4(1)))),
        ]),
        v128.store(i32.add(get(p.out), get(rowD)), get(y)),
      ];
      return [
        set(d4, i32.shl(get(p.d), 2)),
        forUp(c, get(p.c0), get(p.c1), 4,
          set(cb, i32.shl(get(c), 2)),
          forUp(n, 0, get(p.N), 1, v128.store(hAt(), v128.zero())),
          if_(hasD, [set(Dv, v128.load(i32.add(get(p.D), get(cb))))]),
          if_(i32.and(get(p.flags), 8), [set(bv, v128.load(i32.add(get(p.bias), get(cb))))]),
          set(tc, 0),
          set(kp, i32.add(get(p.ckpt), get(cb))),
          forUp(t, 0, get(p.L), 1, ...step),
          // last state, (d, N) layout: one lane per channel
          forUp(n, 0, get(p.N), 1,
            set(hn, v128.load(hAt())),
            ...[0, 1, 2, 3].map((lane) =>
              f32.store(i32.add(get(p.last), i32.shl(i32.add(i32.mul(i32.add(get(c), lane), get(p.N)), get(n)), 2)), f32x4.extractLane(get(hn), lane))),
          ),
        ),
      ];
    },
    { export: true },
  );

  m.func(
    'bwd',
    {
      sc: 'i32', u: 'i32', dl: 'i32', bias: 'i32', At: 'i32', B: 'i32', C: 'i32', D: 'i32', z: 'i32', ckpt: 'i32', g: 'i32', gl: 'i32',
      du: 'i32', ddl: 'i32', dAt: 'i32', dB4: 'i32', dC4: 'i32', dD: 'i32', dz: 'i32', dbias: 'i32', L: 'i32', d: 'i32', N: 'i32', chunk: 'i32', flags: 'i32', c0: 'i32', c1: 'i32',
    },
    null,
    (p, f) => {
      const exp = expEmitter(f, fused);
      const softplus = softplusEmitter(f, fused);
      const [c, t, n, j, k, cb, d4, rowD, rowN, t0, t1, lam, dAa, Sa, Sh, kp] = Array.from({ length: 16 }, () => f.local('i32'));
      const [dv, uv, duv, gv, dy, y, a, hp, l, ha, Bs, ddt, lb, Dv, dDv, zv, e, sg, r, bv, sig, dbv] = Array.from({ length: 22 }, () => f.local('v128'));
      const hasD = i32.and(get(p.flags), 1);
      const hasZ = i32.and(get(p.flags), 2);
      const n16 = (): Expr<'i32'> => i32.shl(get(n), 4);
      const lamAt = (): Expr<'i32'> => i32.add(get(lam), n16());
      const dAaAt = (): Expr<'i32'> => i32.add(get(dAa), n16());
      const AAt = (): Expr<'i32'> => i32.add(i32.add(get(p.At), i32.mul(get(n), get(d4))), get(cb));
      /** row r of the chunk scratch `base` (N vectors per row), vector n */
      const rowAt = (base: Local<'i32'>, r: Expr<'i32'>): Expr<'i32'> => i32.add(get(base), i32.shl(i32.add(i32.mul(r, get(p.N)), get(n)), 4));
      const BAt = (): Expr<'i32'> => i32.add(i32.add(get(p.B), get(rowN)), i32.shl(get(n), 2));
      const CAt = (): Expr<'i32'> => i32.add(i32.add(get(p.C), get(rowN)), i32.shl(get(n), 2));
      const acc4 = (base: Local<'i32'>): Expr<'i32'> => i32.add(get(base), i32.shl(i32.add(i32.mul(get(t), get(p.N)), get(n)), 4));
      const loadRow = (withSigma: boolean): Ins[] => [
        set(rowD, i32.add(i32.mul(get(t), get(d4)), get(cb))),
        set(rowN, i32.shl(i32.mul(get(t), get(p.N)), 2)),
        ...stepSize(dv, withSigma ? sig : null, r, bv, p.dl, rowD, p.flags, softplus),
        set(uv, v128.load(i32.add(get(p.u), get(rowD)))),
        set(duv, f32x4.mul(get(dv), get(uv))),
      ];
      const recompute: Ins[] = [
        forUp(n, 0, get(p.N), 1, v128.store(rowAt(Sh, i32.const(0)), v128.load(i32.add(get(kp), i32.mul(get(n), get(d4)))))),
        forUp(t, get(t0), get(t1), 1,
          set(j, i32.sub(get(t), get(t0))),
          ...loadRow(false),
          forUp(n, 0, get(p.N), 1,
            exp(a, f32x4.mul(get(dv), v128.load(AAt()))),
            v128.store(rowAt(Sa, get(j)), get(a)),
            v128.store(rowAt(Sh, i32.add(get(j), 1)), mad(get(a), v128.load(rowAt(Sh, get(j))), f32x4.mul(get(duv), splat(BAt())))),
          ),
        ),
      ];
      const reverse: Ins[] = [
        set(j, i32.sub(get(t), get(t0))),
        ...loadRow(true),
        set(gv, v128.load(i32.add(get(p.g), get(rowD)))),
        set(dy, get(gv)),
        if_(hasZ, [
          set(y, v128.zero()),
          forUp(n, 0, get(p.N), 1, set(y, mad(v128.load(rowAt(Sh, i32.add(get(j), 1))), splat(CAt()), get(y)))),
          if_(hasD, [set(y, mad(get(Dv), get(uv), get(y)))]),
          set(zv, v128.load(i32.add(get(p.z), get(rowD)))),
          exp(e, vx.neg(get(zv))),
          set(sg, vx.div(constF32x4(1), f32x4.add(get(e), constF32x4(1)))),
          // dz = g·y·σ(z)·(1 + z(1 − σ(z))), dy = g·z·σ(z)
          v128.store(i32.add(get(p.dz), get(rowD)),
            f32x4.mul(f32x4.mul(f32x4.mul(get(gv), get(y)), get(sg)), mad(get(zv), f32x4.sub(constF32x4(1), get(sg)), constF32x4(1)))),
          set(dy, f32x4.mul(get(gv), f32x4.mul(get(zv), get(sg)))),
        ]),
        set(dDv, mad(get(dy), get(uv), get(dDv))),
        set(ddt, v128.zero()),
        set(lb, v128.zero()),
        forUp(n, 0, get(p.N), 1,
          set(a, v128.load(rowAt(Sa, get(j)))),
          set(hp, v128.load(rowAt(Sh, get(j)))),
          set(Bs, splat(BAt())),
          set(l, mad(splat(CAt()), get(dy), v128.load(lamAt()))),
          vadd(acc4(p.dC4), f32x4.mul(get(dy), v128.load(rowAt(Sh, i32.add(get(j), 1))))),
          set(ha, f32x4.mul(get(hp), get(a))),
          v128.store(dAaAt(), mad(f32x4.mul(get(l), get(ha)), get(dv), v128.load(dAaAt()))),
          vadd(acc4(p.dB4), f32x4.mul(get(l), get(duv))),
          set(ddt, mad(get(l), mad(get(ha), v128.load(AAt()), f32x4.mul(get(Bs), get(uv))), get(ddt))),
          set(lb, mad(get(l), get(Bs), get(lb))),
          v128.store(lamAt(), f32x4.mul(get(a), get(l))),
        ),
        v128.store(i32.add(get(p.du), get(rowD)), f32x4.mul(get(dv), get(lb))),
        if_(hasD, [v128.store(i32.add(get(p.du), get(rowD)), mad(get(Dv), get(dy), v128.load(i32.add(get(p.du), get(rowD)))))]),
        // dΔ_raw = dΔ·σ(Δ_raw + bias) under softplus; d(bias) sums it over tokens
        if_(i32.and(get(p.flags), 4), [set(ddt, f32x4.mul(get(ddt), get(sig)))]),
        v128.store(i32.add(get(p.ddl), get(rowD)), get(ddt)),
        set(dbv, f32x4.add(get(dbv), get(ddt))),
      ];
      const nc = i32.divU(i32.add(get(p.L), i32.sub(get(p.chunk), 1)), get(p.chunk));
      // per group of four channels: its λ and dA (N vectors each) and its dD, dbias (one vector each) live in
      // scratch between chunks; `group()` points lam, dAa, dg at the group of channel c
      const [lamAll, dAaAll, dDb, dg] = Array.from({ length: 4 }, () => f.local('i32'));
      const group = (): Ins[] => [
        set(cb, i32.shl(get(c), 2)),
        set(lam, i32.add(get(lamAll), i32.mul(i32.mul(i32.sub(get(c), get(p.c0)), get(p.N)), i32.const(4)))),
        set(dAa, i32.add(get(dAaAll), i32.mul(i32.mul(i32.sub(get(c), get(p.c0)), get(p.N)), i32.const(4)))),
        set(dg, i32.add(get(dDb), i32.shl(i32.sub(get(c), get(p.c0)), 3))),
      ];
      const span = i32.mul(i32.mul(i32.sub(get(p.c1), get(p.c0)), get(p.N)), i32.const(4));
      return [
        set(d4, i32.shl(get(p.d), 2)),
        set(lamAll, get(p.sc)),
        set(dAaAll, i32.add(get(lamAll), span)),
        set(dDb, i32.add(get(dAaAll), span)),
        set(Sa, i32.add(get(dDb), i32.shl(i32.sub(get(p.c1), get(p.c0)), 3))),
        set(Sh, i32.add(get(Sa), i32.shl(i32.mul(get(p.chunk), get(p.N)), 4))),
        forUp(c, get(p.c0), get(p.c1), 4,
          ...group(),
          // λ starts from d(last state), (d, N) layout: gather one lane per channel
          forUp(n, 0, get(p.N), 1,
            v128.store(lamAt(), [0, 1, 2, 3].reduce<Expr<'v128'>>(
              (acc, lane) => vx.replaceLane(acc, lane, f32.load(i32.add(get(p.gl), i32.shl(i32.add(i32.mul(i32.add(get(c), lane), get(p.N)), get(n)), 2)))),
              v128.zero())),
            v128.store(dAaAt(), v128.zero()),
          ),
          v128.store(get(dg), v128.zero()),
          v128.store(i32.add(get(dg), 16), v128.zero()),
        ),
        // chunks outside, groups inside: a chunk's token rows and its slice of the dB, dC lane
        // accumulators stay in cache while every group passes over them (time per token flat in L)
        forDown(k, nc, i32.const(0),
          set(t0, i32.mul(get(k), get(p.chunk))),
          set(t1, i32.minS(i32.add(get(t0), get(p.chunk)), get(p.L))),
          forUp(c, get(p.c0), get(p.c1), 4,
            ...group(),
            set(dDv, v128.load(get(dg))),
            set(dbv, v128.load(i32.add(get(dg), 16))),
            if_(hasD, [set(Dv, v128.load(i32.add(get(p.D), get(cb))))]),
            if_(i32.and(get(p.flags), 8), [set(bv, v128.load(i32.add(get(p.bias), get(cb))))]),
            set(kp, i32.add(i32.add(get(p.ckpt), i32.mul(i32.mul(get(k), get(p.N)), get(d4))), get(cb))),
            ...recompute,
            forDown(t, get(t1), get(t0), ...reverse),
            v128.store(get(dg), get(dDv)),
            v128.store(i32.add(get(dg), 16), get(dbv)),
          ),
        ),
        forUp(c, get(p.c0), get(p.c1), 4,
          ...group(),
          forUp(n, 0, get(p.N), 1, vadd(i32.add(i32.add(get(p.dAt), i32.mul(get(n), get(d4))), get(cb)), v128.load(dAaAt()))),
          if_(hasD, [vadd(i32.add(get(p.dD), get(cb)), v128.load(get(dg)))]),
          if_(i32.and(get(p.flags), 8), [vadd(i32.add(get(p.dbias), get(cb)), v128.load(i32.add(get(dg), 16)))]),
        ),
      ];
    },
    { export: true },
  );
  return m.toBytes();
}
