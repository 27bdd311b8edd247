/**
 * attention family: the figures of issue 5.
 *
 * 1. FlashAttention forward + backward, B = 1, H = 8, d = 64, causal and
 *    not, at n = 1024 and 4096, against PyTorch's naive attention (scores,
 *    mask, softmax, values; the full n² square) and its
 *    `scaled_dot_product_attention` (CPU), both forward + backward too.
 * 2. Token mixers forward + backward (dModel 128, 2 heads of 64) from
 *    n = 1k to 64k: linear attention, Performer, cosFormer, FLASH,
 *    Transformer-VQ, local (sliding-window) attention, and softmax attention
 *    through FlashAttention. Throughput in tokens/s; time per token = 1/it.
 *    The crossover table says from which n each linear mixer beats softmax
 *    attention (interpolated on log n between measured sizes; beyond the
 *    largest softmax size, softmax's time per token is extrapolated as
 *    linear in n, which its quadratic cost makes exact to leading order).
 *
 *   npx tsx bench/attention.ts [--quick] [--peers torch|none] [--filter text]
 */
import { isMain, runFamilies } from './driver.js';
import { measure, pickPeers, progress, rateOf, runCases, targetRow, type BenchCase, type CaseResult, type ExtraTable, type Family, type FamilyContext, type Impl } from './harness.js';
import { setThreads } from '../src/backends/cpu/wasm/index.js';
import { tidy } from '../src/core/memory.js';
import type { Tensor } from '../src/core/tensor.js';
import { foldIn, normal, randomKey } from '../src/ops/random.js';
import { mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { gradients, valueAndGrad } from '../src/autodiff/backward.js';
import { flashAttention } from '../src/zoo/attention/flash.js';
import { attentionRef } from '../src/zoo/attention/attention.ref.js';
import { trainableParameters, dispose as disposeModule } from '../src/nn/module.js';
import { createMixer, type MixerSpec } from '../src/zoo/mixer.js';
import '../src/zoo/attention/index.js';
import { linePlot, writePng } from '../src/plot/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AttentionSpec {
  family: 'attention';
  /** 'sdpa': one attention call; 'mixer': a token mixer module */
  op: 'sdpa' | 'mixer';
  b: number;
  h: number;
  n: number;
  d: number;
  causal: boolean;
  /** mixer kind and options (op 'mixer') */
  mixer?: MixerSpec;
  dModel?: number;
}

const FLASH_IMPL = 'nabla flash';
const MIXER_KINDS: [string, (n: number) => MixerSpec][] = [
  ['linear', () => ({ kind: 'linear', heads: 2, chunk: 64 })],
  ['performer', () => ({ kind: 'performer', heads: 2, features: 64 })],
  ['cosformer', (n) => ({ kind: 'cosformer', heads: 2, maxLength: Math.max(n, 2048) })],
  ['flash', (n) => ({ kind: 'flash', chunk: 128, maxLength: Math.max(n, 512) })],
  ['transformer-vq', () => ({ kind: 'transformer-vq', heads: 2, codes: 64, block: 64 })],
  ['sparse-local', () => ({ kind: 'sparse-local', heads: 2, window: 128 })],
  ['softmax', () => ({ kind: 'flash-attention', heads: 2 })],
];

function sdpaCases(quick: boolean): BenchCase[] {
  const out: BenchCase[] = [];
  const ns = quick ? [32] : [1024, 4096];
  const [b, h, d] = quick ? [1, 2, 8] : [1, 8, 64];
  for (const causal of [true, false]) {
    for (const n of ns) {
      const spec: AttentionSpec = { family: 'attention', op: 'sdpa', b, h, n, d, causal };
      // forward 2 products (QKᵀ, PV) + backward 5 (recomputed S, dV, dP, dQ, dK); causal halves them
      const flops = 7 * 2 * b * h * n * n * d * (causal ? 0.5 : 1);
      out.push({ family: 'attention', name: `attention fwd+bwd ${causal ? 'causal' : 'full'} B${b} H${h} d${d} n=${n}`, spec: spec as unknown as Record<string, unknown>, work: flops, unit: 'GFLOP/s', series: `sdpa ${causal}` });
    }
  }
  return out;
}

function mixerCases(quick: boolean): BenchCase[] {
  const ns = quick ? [32, 64] : [1024, 4096, 16384, 65536];
  const dModel = quick ? 16 : 128;
  const out: BenchCase[] = [];
  for (const [name, make] of MIXER_KINDS) {
    for (const n of ns) {
      const spec: AttentionSpec = { family: 'attention', op: 'mixer', b: 1, h: 2, n, d: dModel / 2, causal: true, mixer: make(n), dModel };
      out.push({
        family: 'attention', name: `mixer ${name} n=${n}`, spec: spec as unknown as Record<string, unknown>, work: n, unit: 'tokens/s', series: `mixer ${name}`,
        cost: name === 'softmax' ? n * n : n,
      });
    }
  }
  return out;
}

/** nabla: FlashAttention (WASM kernels), forward + backward, the cotangent a fixed random tensor. */
function nablaFlash(): Impl {
  return {
    name: FLASH_IMPL,
    run: async (c, cfg) => {
      const s = c.spec as unknown as AttentionSpec;
      if (s.op !== 'sdpa') return { skip: 'not this implementation' };
      const k = randomKey(1);
      const [q, kk, v, w] = [0, 1, 2, 3].map((i) => normal(foldIn(k, i), [s.b, s.h, s.n, s.d]));
      const f = valueAndGrad((a: Tensor, b2: Tensor, cc: Tensor) => sum(mul(flashAttention(a, b2, cc, { causal: s.causal }), w!)));
      try {
        return measure(() => tidy(() => void f(q!, kk!, v!)), cfg);
      } finally {
        [q, kk, v, w].forEach((t) => t!.dispose());
      }
    },
  };
}

/** nabla's naive attention (the n² square), small n only: the twin FlashAttention is checked against. */
function nablaNaive(): Impl {
  return {
    name: 'nabla naive',
    run: async (c, cfg) => {
      const s = c.spec as unknown as AttentionSpec;
      if (s.op !== 'sdpa') return { skip: 'not this implementation' };
      if (s.n > 1024) return { skip: 'n² scores: small n only' };
      const k = randomKey(1);
      const [q, kk, v, w] = [0, 1, 2, 3].map((i) => normal(foldIn(k, i), [s.b, s.h, s.n, s.d]));
      const f = valueAndGrad((a: Tensor, b2: Tensor, cc: Tensor) => sum(mul(attentionRef(a, b2, cc, { causal: s.causal }), w!)));
      try {
        return measure(() => tidy(() => void f(q!, kk!, v!)), cfg);
      } finally {
        [q, kk, v, w].forEach((t) => t!.dispose());
      }
    },
  };
}

/** nabla token mixers: forward + backward to the input and every parameter. */
function nablaMixer(): Impl {
  return {
    name: 'nabla',
    run: async (c, cfg) => {
      const s = c.spec as unknown as AttentionSpec;
      if (s.op !== 'mixer') return { skip: 'not this implementation' };
      const m = createMixer(s.dModel!, s.mixer!, randomKey(2));
      const x = normal(randomKey(3), [s.b, s.n, s.dModel!]);
      const w = normal(randomKey(4), [s.b, s.n, s.dModel!]);
      const params = Object.values(trainableParameters(m));
      try {
        return measure(() => tidy(() => void gradients([sum(mul(m.forward(x), w))], [x, ...params])), cfg);
      } finally {
        x.dispose();
        w.dispose();
        disposeModule(m);
      }
    },
  };
}

/** Time per token of `impl` on `kind` at each n (ms), from the results. */
function perToken(r: CaseResult[], kind: string, impl: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of r) {
    const s = c.spec as unknown as AttentionSpec;
    if (s.op !== 'mixer' || !c.name.startsWith(`mixer ${kind} n=`)) continue;
    const m = c.results.find((x) => x.impl === impl);
    if (m?.ok) out.set(s.n, 1000 / m.throughput);
  }
  return out;
}

/** Where a linear mixer's time per token falls below softmax's (log-n interpolation; softmax extrapolated linearly in n). */
export function crossover(lin: Map<number, number>, soft: Map<number, number>): string {
  const ns = [...lin.keys()].sort((a, b) => a - b);
  const sNs = [...soft.keys()].sort((a, b) => a - b);
  if (ns.length === 0 || sNs.length === 0) return '—';
  const softAt = (n: number): number => {
    if (soft.has(n)) return soft.get(n)!;
    const last = sNs[sNs.length - 1]!;
    if (n > last) return (soft.get(last)! * n) / last; // per-token cost of a quadratic method grows as n
    const lo = [...sNs].reverse().find((x) => x <= n) ?? sNs[0]!;
    const hi = sNs.find((x) => x >= n) ?? last;
    if (lo === hi) return soft.get(lo)!;
    const t = Math.log(n / lo) / Math.log(hi / lo);
    return soft.get(lo)! * (1 - t) + soft.get(hi)! * t;
  };
  const diff = ns.map((n) => lin.get(n)! - softAt(n));
  if (diff[0]! <= 0) return `≤ ${ns[0]} (faster at every n measured)`;
  for (let i = 1; i < ns.length; i++) {
    if (diff[i]! <= 0) {
      const t = diff[i - 1]! / (diff[i - 1]! - diff[i]!);
      const n = Math.exp(Math.log(ns[i - 1]!) + t * Math.log(ns[i]! / ns[i - 1]!));
      return `≈ ${Math.round(n)}`;
    }
  }
  return `> ${ns[ns.length - 1]} (not reached)`;
}

/** The mixers' µs per token against log₂ n, one line each (docs/attention-mixers.png). */
export function plotMixers(r: CaseResult[], file: string): string {
  const series = MIXER_KINDS.map(([kind]) => {
    const t = [...perToken(r, kind, 'nabla')].sort((a, b) => a[0] - b[0]);
    return { label: kind, xs: t.map(([n]) => Math.log2(n)), ys: t.map(([, ms]) => ms * 1000) };
  }).filter((s) => s.ys.length > 0);
  return writePng(file, linePlot(series, { title: 'forward + backward per token (dModel 128)', xLabel: 'log2 n', yLabel: 'us per token', logY: true, width: 720, height: 440 }));
}

function tables(r: CaseResult[], quick: boolean): ExtraTable[] {
  const ns = quick ? [32, 64] : [1024, 4096, 16384, 65536];
  const soft = perToken(r, 'softmax', 'nabla');
  const rows = MIXER_KINDS.map(([kind]) => {
    const t = perToken(r, kind, 'nabla');
    const vals = ns.map((n) => (t.has(n) ? `${(t.get(n)! * 1000).toFixed(1)}` : '—'));
    const measured = [...t.values()];
    const flat = measured.length >= 2 ? `${(Math.max(...measured) / Math.min(...measured)).toFixed(2)}x` : '—';
    return [kind, ...vals, flat, kind === 'softmax' ? '' : crossover(t, soft)];
  });
  const sd = (causal: boolean, n: number): string => `attention fwd+bwd ${causal ? 'causal' : 'full'} B1 H8 d64 n=${n}`;
  const target: string[][] = quick
    ? []
    : [
        targetRow('flash / torch naive, causal n=4096', rateOf(r, sd(true, 4096), FLASH_IMPL), rateOf(r, sd(true, 4096), 'torch'), 2),
        targetRow('flash / torch sdpa, causal n=4096', rateOf(r, sd(true, 4096), FLASH_IMPL), rateOf(r, sd(true, 4096), 'torch sdpa'), 2),
        targetRow('flash / torch naive, full n=4096', rateOf(r, sd(false, 4096), FLASH_IMPL), rateOf(r, sd(false, 4096), 'torch'), 1.2),
        targetRow('flash / torch sdpa, full n=4096', rateOf(r, sd(false, 4096), FLASH_IMPL), rateOf(r, sd(false, 4096), 'torch sdpa'), 1.2),
      ];
  return [
    { title: 'mixers, forward + backward: µs per token (dModel 128, 2 heads), max/min over n, and the crossover n with softmax (FlashAttention)', header: ['mixer', ...ns.map((n) => `n=${n}`), 'max/min', 'beats softmax from n'], rows },
    ...(target.length ? [{ title: 'against the targets of issue 5', header: ['figure (issue 5)', 'measured', 'target', ''], rows: target }] : []),
  ];
}

export const attentionFamily: Family = {
  name: 'attention',
  title: 'attention: FlashAttention vs PyTorch, and the token mixers from 1k to 64k tokens',
  async run(ctx: FamilyContext) {
    const impls: Impl[] = [nablaFlash(), nablaNaive(), nablaMixer(), ...pickPeers(ctx, ['torch', 'torch sdpa'])];
    const all = [...sdpaCases(ctx.quick), ...mixerCases(ctx.quick)].filter((c) => c.name.includes(ctx.filter));
    setThreads(ctx.threads);
    const results = await runAttention(all, impls, ctx);
    if (!ctx.quick && !ctx.filter) ctx.log(`wrote ${plotMixers(results, join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'attention-mixers.png'))}`);
    return {
      family: 'attention',
      title: this.title,
      cases: results,
      ratios: [
        [FLASH_IMPL, 'torch'],
        [FLASH_IMPL, 'torch sdpa'],
      ],
      notes: [
        `FlashAttention: nabla's WASM SIMD kernels (blocks 64×64, upper triangle skipped); torch: naive attention (full n² scores, masked) and F.scaled_dot_product_attention, ${ctx.threads} threads, forward + backward in each`,
        'mixers: forward + backward of the module (input and parameter gradients), float32, one sequence',
      ],
      extra: tables(results, ctx.quick),
    };
  },
};

/** The attention calls run on flash, naive and the torch peers; the mixers on nabla alone. */
async function runAttention(all: BenchCase[], impls: Impl[], ctx: FamilyContext): Promise<CaseResult[]> {
  const isMixer = (c: BenchCase): boolean => (c.spec as unknown as AttentionSpec).op === 'mixer';
  const opts = { onResult: progress(ctx.log) };
  // calls of a minute are the point here (n = 4096 squares, 64k-token mixers): allow them, one call per sample
  const cfg = ctx.quick ? ctx.cfg : { ...ctx.cfg, maxCallMs: 150_000 };
  const sdpa = await runCases(all.filter((c) => !isMixer(c)), impls.filter((i) => i.name !== 'nabla'), cfg, opts);
  const mixers = await runCases(all.filter(isMixer), impls.filter((i) => i.name === 'nabla'), cfg, opts);
  return [...sdpa, ...mixers];
}

if (isMain(import.meta.url)) await runFamilies([attentionFamily]);
