/**
 * The fused WGSL kernels (src/backends/webgpu/kernels/fused) on a real GPU:
 * for each, the largest relative error against the CPU float64 path (values,
 * then every input gradient), the forward time and the forward+backward
 * time, with no CPU fallback allowed. Shapes are a GPT-2-small step's rows
 * (softmax over 1,024 keys, log-softmax over 8,000 logits, norms over 768,
 * GELU over 3,072) and mid-sized sequence ops.
 *
 * Timing as bench/gpu/nabla.ts: one warm-up call (pipelines compiled), then
 * the wall clock of k calls closed by one device sync, median of 5 samples.
 * The cotangents are made once, outside the timed region, and given to
 * `gradients` directly (a loss summed to one scalar would time that
 * reduction: reduce.ts gives a full sum one 64-invocation workgroup).
 *
 * Run on the GPU machine as nabla.ts is (scripts/gpu): bundle with
 *   npx esbuild bench/gpu/fused.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu --outfile=.gpu/app/fused.mjs
 * then `cd .gpu/app && node fused.mjs [--out fused.json]`. On an H100 (Dawn,
 * Vulkan) every case agreed with float64 to ≤ 1.4e-6 relative and ran with no fallback;
 * forwards: softmax [2048, 1024] 0.16 ms, layer norm [4096, 768] 0.32 ms, GELU
 * [4096, 3072] 0.40 ms, selective scan 0.93 ms, linear attention 5.2 ms, LSTM
 * 15.6 ms (64 steps; measured before the forward step split its dot products
 * over lanes, see kernels/fused/rnn.ts).
 */
import { writeFileSync } from 'node:fs';
import * as nb from '../../src/index.js';
import { releaseWebGpu, syncWebGpu, webgpu, webgpuUnavailableReason } from '../../src/backends/webgpu/index.js';
import { getDefaultBackend, setDefaultBackend } from '../../src/ops/creation.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { Backend } from '../../src/backends/backend.js';
import { selectiveScan } from '../../src/zoo/ssm/selectiveScan.js';
import { rnnScan } from '../../src/zoo/rnn/rnnScan.js';
import { linearAttentionChunked } from '../../src/zoo/attention/linear.js';

interface Result {
  name: string;
  errors?: string[];
  fwdMs?: number;
  fwdBwdMs?: number;
  fallbacks?: string[];
  error?: string;
}
type Fn = (...xs: Tensor[]) => Tensor[];

const results: Result[] = [];
const outPath = ((i) => (i >= 0 ? process.argv[i + 1] : undefined))(process.argv.indexOf('--out'));

function on<R>(b: Backend, f: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(b);
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

/** A fixed pseudo-random sequence (an LCG), mapped by `f`, rounded to f32. */
let seed = 1;
function values(n: number, f: (z: number) => number): number[] {
  return Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.fround(f((seed / 2147483648) * 2 - 1));
  });
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  let m = 1e-30;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return e / m;
}

async function median(run: () => void, k: number): Promise<number> {
  run();
  await syncWebGpu();
  const samples: number[] = [];
  for (let s = 0; s < 5; s++) {
    const t0 = performance.now();
    for (let r = 0; r < k; r++) run();
    await syncWebGpu();
    samples.push((performance.now() - t0) / k);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

async function bench(g: Backend & { fallbacks: Map<string, unknown>; readF64(t: Tensor): Promise<Float64Array> }, name: string, shapes: number[][], maps: ((z: number) => number)[], f: Fn, k = 3): Promise<void> {
  try {
    g.fallbacks.clear();
    const vals = shapes.map((s, i) => values(s.reduce((a, b) => a * b, 1), maps[i]!));
    const xc = shapes.map((s, i) => nb.tensor(vals[i]!, s, { dtype: 'f64', backend: nb.cpu() }));
    const xg = shapes.map((s, i) => nb.tensor(vals[i]!, s, { dtype: 'f32', backend: g }));
    const argnums = shapes.map((_, i) => i);
    const yc = on(nb.cpu(), () => f(...xc));
    const ws = yc.map((y) => values(y.size, (z) => z));
    const loss = (b: Backend) => {
      const w = yc.map((y, i) => nb.tensor(ws[i]!, y.shape, { dtype: 'f64', backend: b }));
      return (...xs: Tensor[]): Tensor => f(...xs).map((y, i) => nb.sum(nb.mul(y, w[i]!))).reduce((a, t) => nb.add(a, t));
    };
    const gc = on(nb.cpu(), () => nb.grad(loss(nb.cpu()), { argnums })(...xc)) as Tensor[];
    // on the GPU the cotangents are given directly: a full sum to one scalar would time the reduction, not the kernels
    const wg = yc.map((y, i) => nb.tensor(ws[i]!, y.shape, { dtype: 'f32', backend: g }));
    xg.forEach((x) => x.requiresGrad_());
    const fwdBwd = (): Tensor[] => nb.tidy(() => nb.gradients(f(...xg), xg, wg) as Tensor[]);
    const yg = on(g, () => f(...xg));
    const gg = on(g, fwdBwd);
    const errors: string[] = [];
    for (let i = 0; i < yc.length; i++) errors.push(relErr(await g.readF64(yg[i]!), yc[i]!.toF64()).toExponential(1));
    for (let i = 0; i < gc.length; i++) errors.push(relErr(await g.readF64(gg[i]!), gc[i]!.toF64()).toExponential(1));
    const fwdMs = await median(() => on(g, () => nb.tidy(() => void f(...xg))), k);
    const fwdBwdMs = await median(() => on(g, () => fwdBwd().forEach((t) => t.dispose())), k);
    results.push({ name, errors, fwdMs: +fwdMs.toFixed(3), fwdBwdMs: +fwdBwdMs.toFixed(3), fallbacks: [...g.fallbacks.keys()] });
    [...xc, ...xg, ...yc, ...gc, ...yg, ...gg, ...wg].forEach((t) => t.dispose());
  } catch (e) {
    results.push({ name, error: String((e as Error).stack ?? e).slice(0, 600) });
  }
  console.log(JSON.stringify(results[results.length - 1]));
}

const id = (z: number): number => z;
const pos = (z: number): number => Math.abs(z) + 0.1;

async function main(): Promise<void> {
  const g = await webgpu();
  if (!g) {
    console.log(JSON.stringify({ name: 'adapter', error: webgpuUnavailableReason() }));
    return;
  }
  console.log(JSON.stringify({ name: 'adapter', adapter: g.ctx.adapterName, limits: g.ctx.limits }));
  await bench(g, 'softmaxLast [2048, 1024]', [[2048, 1024]], [(z) => 4 * z], (x) => [nb.softmaxLast(x!)]);
  await bench(g, 'logSoftmaxLast [512, 8000]', [[512, 8000]], [(z) => 4 * z], (x) => [nb.logSoftmaxLast(x!)]);
  await bench(g, 'layerNormFused [4096, 768] affine', [[4096, 768], [768], [768]], [id, (z) => 1 + 0.3 * z, id], (x, w, b) => [nb.layerNormFused(x!, 1, w!, b!)]);
  await bench(g, 'rmsNormFused [4096, 768] weight', [[4096, 768], [768]], [id, (z) => 1 + 0.3 * z], (x, w) => [nb.rmsNormFused(x!, 1, w!)]);
  await bench(g, 'gelu (tanh) [4096, 3072]', [[4096, 3072]], [(z) => 3 * z], (x) => [nb.gelu(x!, 'tanh')]);
  await bench(
    g,
    'selectiveScan b2 L512 d256 N16 (D, z, bias, softplus)',
    [[2, 512, 256], [2, 512, 256], [256, 16], [2, 512, 16], [2, 512, 16], [256], [2, 512, 256], [256]],
    [id, (z) => 0.5 * z - 1, (z) => -Math.exp(0.5 * z), id, id, id, id, (z) => 0.3 * z],
    (u, dl, A, B, C, D, z, bias) => selectiveScan({ u: u!, delta: dl!, A: A!, B: B!, C: C!, D: D!, z: z!, deltaBias: bias! }, { deltaSoftplus: true, chunk: 128 }),
  );
  await bench(g, 'rnnScan lstm L64 b16 H128', [[64, 16, 512], [512, 128], [512], [16, 128], [16, 128]], [id, (z) => 0.2 * z, (z) => 0.1 * z, id, id], (xp, whh, bhh, h0, c0) => {
    const [hs, h, c] = rnnScan('lstm', { xp: xp!, whh: whh!, bhh: bhh!, h0: h0!, c0: c0! });
    return [hs, h, c!];
  });
  await bench(g, 'rnnScan gru L64 b16 H128', [[64, 16, 384], [384, 128], [384], [16, 128]], [id, (z) => 0.2 * z, (z) => 0.1 * z, id], (xp, whh, bhh, h0) => rnnScan('gru', { xp: xp!, whh: whh!, bhh: bhh!, h0: h0! }).slice(0, 2) as Tensor[]);
  await bench(g, 'linear attention causal (2, 4, 1024, 64), dv 63', [[2, 4, 1024, 64], [2, 4, 1024, 64], [2, 4, 1024, 63]], [pos, pos, id], (q, k, v) => [linearAttentionChunked(q!, k!, v!, { causal: true })]);
  if (outPath) writeFileSync(outPath, JSON.stringify(results, null, 1));
  await releaseWebGpu();
}

await main();
