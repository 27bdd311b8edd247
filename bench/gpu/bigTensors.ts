/**
 * Tensors larger than one storage binding on a real GPU (src/backends/
 * webgpu/split.ts): naive attention whose score matrix is about 1.5 storage
 * bindings large (on an H100, several GiB), values and gradients, against
 * FlashAttention on the same inputs (whose operands fit), plus a full
 * reduction and an elementwise op over the scores. Prints the device limits,
 * the errors, the times and how many ops ran in pieces, one JSON object per line.
 *
 * Run on the GPU machine like bench/gpu/nabla.ts (scripts/gpu/pack.sh bundles
 * it with `--entry bench/gpu/bigTensors.ts`).
 */
import * as nb from '../../src/index.js';
import { webgpu, releaseWebGpu, syncWebGpu, webgpuUnavailableReason } from '../../src/backends/webgpu/index.js';
import { splitStats } from '../../src/backends/webgpu/split.js';
import { flashAttention } from '../../src/zoo/attention/flash.js';
import { randomKey, splitKey } from '../../src/ops/random.js';
import type { Key } from '../../src/core/random.js';

const log = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

async function maxDiff(a: nb.Tensor, b: nb.Tensor): Promise<number> {
  const d = nb.max(nb.abs(nb.sub(a, b)));
  const v = Number((await d.data())[0]);
  d.dispose();
  return v;
}

async function main(): Promise<void> {
  const gpu = await webgpu();
  if (!gpu) throw new Error(`no WebGPU adapter: ${webgpuUnavailableReason()}`);
  const l = gpu.ctx.limits;
  log({ adapter: gpu.ctx.adapterName, maxBufferSize: l.maxBufferSize, maxStorageBindingSize: l.maxStorageBindingSize, maxWorkgroupsPerDim: l.maxWorkgroupsPerDim, align: l.storageOffsetAlignment });
  if (process.argv.includes('--embedding-only')) {
    await embedding(l.maxStorageBindingSize);
    return releaseWebGpu();
  }
  const h = 16;
  const d = 64;
  const target = Math.min(1.5 * l.maxStorageBindingSize, 0.95 * l.maxBufferSize);
  const L = Math.floor(Math.sqrt(target / (4 * h)) / 64) * 64;
  const scoreBytes = 4 * h * L * L;
  log({ h, L, d, scoreBytes, bindings: scoreBytes / l.maxStorageBindingSize });
  const [kq, kk, kv, kc] = splitKey(randomKey(1), 4) as [Key, Key, Key, Key];
  const opts = { dtype: 'f32' as const, backend: gpu };
  const q = nb.normal(kq, [1, h, L, d], opts);
  const k = nb.normal(kk, [1, h, L, d], opts);
  const v = nb.normal(kv, [1, h, L, d], opts);
  const c = nb.normal(kc, [1, h, L, d], opts);
  const scale = 1 / Math.sqrt(d);
  const naive = (qi: nb.Tensor, ki: nb.Tensor, vi: nb.Tensor): nb.Tensor => nb.matmul(nb.softmax(nb.mul(nb.matmul(qi, nb.transpose(ki)), scale), -1), vi);
  const loss = (f: typeof naive) => (qi: nb.Tensor, ki: nb.Tensor, vi: nb.Tensor): nb.Tensor => nb.sum(nb.mul(f(qi, ki, vi), c));
  const flash = (qi: nb.Tensor, ki: nb.Tensor, vi: nb.Tensor): nb.Tensor => flashAttention(qi, ki, vi, { scale });
  const kept: Record<string, nb.Tensor[]> = {};
  for (const [name, f] of [['flash', flash], ['naive', naive]] as const) {
    const before = { ...splitStats };
    const t0 = performance.now();
    try {
      const [y, grads] = nb.valueAndGrad(loss(f), { argnums: [0, 1, 2] })(q, k, v);
      const out = nb.noGrad(() => f(q, k, v));
      await syncWebGpu();
      const ms = performance.now() - t0;
      kept[name] = [out, ...(grads as nb.Tensor[])];
      log({ name, ms: Math.round(ms), loss: Number((await y.data())[0]), splitOps: splitStats.ops - before.ops, pieces: splitStats.pieces - before.pieces, liveGiB: gpu.memory().liveBytes / 2 ** 30 });
      y.dispose();
    } catch (e) {
      log({ name, error: (e as Error).message });
    }
  }
  const a = kept.flash;
  const b = kept.naive;
  if (a && b) {
    const names = ['out', 'dq', 'dk', 'dv'];
    for (let i = 0; i < 4; i++) log({ compare: names[i], maxAbsDiff: await maxDiff(a[i]!, b[i]!) });
  }
  // a full reduction and an elementwise op over a tensor the size of the scores
  try {
    const s = nb.noGrad(() => nb.matmul(q, nb.transpose(k)));
    const t0 = performance.now();
    const total = nb.sum(s);
    const ex = nb.sum(nb.exp(nb.mul(s, 0.01)), -1);
    const got = Number((await total.data())[0]);
    const want = Number((await nb.sum(nb.matmul(nb.sum(q, 2, true), nb.transpose(nb.sum(k, 2, true)))).data())[0]);
    await ex.data();
    log({ name: 'sum(scores)', ms: Math.round(performance.now() - t0), got, want, relDiff: Math.abs(got - want) / Math.abs(want) });
  } catch (e) {
    log({ name: 'sum(scores)', error: (e as Error).message });
  }
  for (const t of [q, k, v, c, ...Object.values(kept).flat()]) t.dispose();
  await embedding(gpu.ctx.limits.maxStorageBindingSize);
  await releaseWebGpu();
}

/** Values of a few rows of a big table, each read through a one-row slice (no whole-table readback). */
async function rows(t: nb.Tensor, ids: readonly number[]): Promise<number[][]> {
  const out: number[][] = [];
  for (const i of ids) {
    const r = nb.contiguous(nb.slice(t, [{ start: i, stop: i + 1 }]));
    out.push(Array.from(await r.data(), Number));
    r.dispose();
  }
  return out;
}

/**
 * An embedding table ~1.1 bindings large: the lookup, its gradient (indexAdd
 * into a zero table of the same size) and one AdamW step on it, checked on a
 * few rows against what they must be (the looked-up rows; the summed
 * cotangent rows; p·(1 − lr·wd) − lr·sign(g) on the first Adam step).
 */
async function embedding(binding: number): Promise<void> {
  const D = 4096;
  const V = Math.ceil((1.1 * binding) / (4 * D));
  const n = 2048;
  const gpu = (await webgpu())!;
  try {
    const before = { ...splitStats };
    const t0 = performance.now();
    const [kw, kc] = splitKey(randomKey(2), 2) as [Key, Key];
    const w = nb.normal(kw, [V, D], { dtype: 'f32', backend: gpu });
    const ids = Array.from({ length: n }, (_, i) => (i * 7919 + 13) % V);
    ids[5] = ids[0]!; // a duplicate: its gradient row is the sum of two cotangent rows
    const idx = nb.tensor(ids, [n], { dtype: 'i32', backend: gpu });
    const c = nb.normal(kc, [n, D], { dtype: 'f32', backend: gpu });
    const lookup = nb.noGrad(() => nb.indexSelect(w, 0, idx));
    const [, [gw]] = nb.valueAndGrad((wi: nb.Tensor) => nb.sum(nb.mul(nb.indexSelect(wi, 0, idx), c)))(w);
    const check = [ids[0]!, ids[1]!, ids[n - 1]!];
    const wRows = await rows(w, check);
    const lookRows = await rows(lookup, [0, 1, n - 1]);
    const gRows = await rows(gw!, check);
    const cAll = await c.data();
    const lookupErr = Math.max(...lookRows.flatMap((r, i) => r.map((x, j) => Math.abs(x - wRows[i]![j]!))));
    // a row's gradient: the sum of the cotangent rows of every lookup of it
    const wantG = check.map((row) => {
      const g = new Array<number>(D).fill(0);
      ids.forEach((id, j) => {
        if (id === row) for (let t = 0; t < D; t++) g[t]! += cAll[j * D + t]!;
      });
      return g;
    });
    const gradErr = Math.max(...gRows.flatMap((r, i) => r.map((x, j) => Math.abs(x - wantG[i]![j]!))));
    const lr = 1e-3;
    const wd = 0.1;
    const opt = nb.adamw({ lr, weightDecay: wd });
    const params = { w };
    const state = opt.update({ w: gw! }, opt.init(params), params).state;
    const newRows = await rows(w, check);
    const stepErr = Math.max(...newRows.flatMap((r, i) => r.map((x, j) => Math.abs(x - (wRows[i]![j]! * (1 - lr * wd) - lr * Math.sign(wantG[i]![j]!))))));
    await syncWebGpu();
    log({ name: 'embedding', V, D, tableBytes: 4 * V * D, bindings: (4 * V * D) / binding, ms: Math.round(performance.now() - t0), lookupErr, gradErr, adamStepErr: stepErr, splitOps: splitStats.ops - before.ops, pieces: splitStats.pieces - before.pieces });
    nb.optim.disposeOptimizerState(state);
    for (const t of [w, idx, c, lookup, gw!]) t.dispose();
  } catch (e) {
    log({ name: 'embedding', error: (e as Error).stack ?? String(e) });
  }
}

main().catch((e: unknown) => {
  log({ fatal: (e as Error).stack ?? String(e) });
  process.exitCode = 1;
});
