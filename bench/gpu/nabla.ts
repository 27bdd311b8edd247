/**
 * nabla's GPU benchmarks on the WebGPU backend (issue: measure on a real GPU).
 * Run on the GPU machine by scripts/gpu/remote.sh from a bundle made by
 * scripts/gpu/pack.sh; prints one JSON object per measurement and writes the
 * whole list to --out.
 *
 * Timing: each case is warmed up, then timed as wall clock over k calls
 * followed by one device sync (`syncWebGpu`), so the GPU's queue is drained
 * inside the timed region; the median of the samples is reported.
 */
import { writeFileSync } from 'node:fs';
import { useBackend, syncWebGpu, releaseWebGpu, webgpu, webgpuUnavailableReason, profileWebGpu } from '../../src/backends/webgpu/index.js';
import { gpuContext } from '../../src/backends/webgpu/device.js';
import { normal, randomKey } from '../../src/ops/random.js';
import { matmul } from '../../src/ops/index.js';
import { tidy } from '../../src/core/memory.js';
import type { Tensor } from '../../src/core/tensor.js';
import { backward } from '../../src/autodiff/backward.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { key, split } from '../../src/core/random.js';
import { dispose, namedGrads, namedParameters, zeroGrad } from '../../src/nn/module.js';
import { crossEntropy, softmax } from '../../src/ops/nn.js';
import { randint } from '../../src/ops/random.js';
import { reshape } from '../../src/ops/views.js';
import { add, exp, mul, sum } from '../../src/ops/index.js';
import { getDefaultBackend } from '../../src/ops/creation.js';
import { selectiveScan } from '../../src/zoo/ssm/selectiveScan.js';
import { rnnScan } from '../../src/zoo/rnn/rnnScan.js';
import { matmulT } from '../../src/ops/matmul.js';
import { adamw } from '../../src/optim/adam.js';
import { disposeOptimizerState } from '../../src/optim/optimizer.js';
import { flashAttention } from '../../src/zoo/attention/flash.js';
import { flash4Plan, setFlash4Overrides } from '../../src/backends/webgpu/kernels/flash4.js';
import { Gpt, causalMask, gptStepFlops, type GptConfig } from '../gptModel.js';

interface Result { name: string; shape: string; dtype: string; ms?: number; value?: number; unit?: string; error?: string }
const results: Result[] = [];
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

/** every sample of the last `time` call, sorted (reported where the spread matters) */
let lastSamples: number[] = [];

async function time(run: () => void, reps: number, samples = 5): Promise<number> {
  run();
  await syncWebGpu();
  const ms: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) run();
    await syncWebGpu();
    ms.push((performance.now() - t0) / reps);
  }
  ms.sort((a, b) => a - b);
  lastSamples = ms;
  return ms[Math.floor(ms.length / 2)]!;
}

const spread = (): string => `samples ${lastSamples.map((m) => m.toFixed(2)).join('/')} ms`;

function record(r: Result): void {
  results.push(r);
  console.log(JSON.stringify(r));
}

async function gemm(dtype: 'f32' | 'f16', sizes: number[]): Promise<void> {
  for (const n of sizes) {
    const name = dtype === 'f32' ? 'sgemm' : 'hgemm';
    try {
      const a = normal(randomKey(1), [n, n], { dtype });
      const b = normal(randomKey(2), [n, n], { dtype });
      const reps = n >= 4096 ? 2 : 10;
      const ms = await time(() => tidy(() => { matmul(a, b); }), reps);
      const samples = spread();
      // the kernel's own GPU time, to tell a slow kernel from time spent around it
      const kernels = await profileWebGpu(() => tidy(() => { matmul(a, b); }));
      const gpuMs = kernels.reduce((t, k) => t + k.ms, 0);
      record({ name, shape: `${n}x${n}x${n}`, dtype, ms, value: (2 * n ** 3) / (ms * 1e9), unit: `TFLOP/s (${samples}; profiled kernel ${gpuMs.toFixed(2)} ms: ${kernels.map((k) => k.label).join(', ')})` });
      a.dispose();
      b.dispose();
    } catch (e) {
      record({ name, shape: `${n}`, dtype, error: String((e as Error).message ?? e).slice(0, 300) });
    }
  }
}

/**
 * Causal attention forward + backward as composed ops (QKᵀ, mask, softmax, ·V
 * and their VJPs) at B=4, H=16, d=64: what the backend's kernels give without
 * a fused attention kernel. The score matrix is n² per head, so n stops where
 * it would not fit.
 */
async function attention(ns: number[]): Promise<void> {
  const [B, H, d] = [4, 16, 64];
  for (const n of ns) {
    try {
      const q = normal(randomKey(3), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
      const k = normal(randomKey(4), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
      const v = normal(randomKey(5), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
      const mask = causalMask(n);
      const step = (): void => {
        const loss = tidy(() => sum(matmulT(softmax(add(mul(matmulT(q, k, false, true), 1 / Math.sqrt(d)), mask), -1), v)));
        backward(loss);
        loss.dispose();
        for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
      };
      const ms = await time(step, 2, 3);
      // causal fwd+bwd FLOPs as FlashAttention counts them: 4·B·H·n²·d forward (halved by the mask) × 3.5 for fwd+bwd
      const flops = 3.5 * 2 * B * H * n * n * d;
      record({ name: 'attention-fwd-bwd (composed ops)', shape: `B${B} H${H} n${n} d${d} causal`, dtype: 'f32', ms, value: flops / (ms * 1e9), unit: 'TFLOP/s' });
      for (const t of [q, k, v, mask]) t.dispose();
    } catch (e) {
      record({ name: 'attention-fwd-bwd (composed ops)', shape: `n${n}`, dtype: 'f32', error: String((e as Error).message ?? e).slice(0, 300) });
    }
  }
}

/**
 * FlashAttention forward + backward (the fused WGSL kernels), causal, B=4,
 * H=16, d=64, once per kernel version (NABLA_FLASH_KERNEL, read at each
 * call; --flash-kernels v3,v4,v4pair,v4+v3), and the forward alone (no tape) beside it.
 */
async function flash(ns: number[], versions: string[]): Promise<void> {
  const [B, H, d] = [4, 16, 64];
  for (const n of ns) {
    for (const ver of versions) {
      // 'v4pair': v4 with two lanes per forward score tile (an opt-in tiling, NABLA_FLASH4=pair=1)
      process.env.NABLA_FLASH_KERNEL = ver === 'v4pair' ? 'v4' : ver;
      setFlash4Overrides(ver === 'v4pair' ? { pair: true } : {});
      const name = `attention-fwd-bwd (flash ${ver})`;
      try {
        const q = normal(randomKey(3), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
        const k = normal(randomKey(4), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
        const v = normal(randomKey(5), [B, H, n, d], { dtype: 'f32', requiresGrad: true });
        const step = (): void => {
          const loss = tidy(() => sum(flashAttention(q, k, v, { causal: true })));
          backward(loss);
          loss.dispose();
          for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
        };
        const ms = await time(step, n >= 8192 ? 1 : 2, 3);
        // GPU time of every kernel of one step (comparable with PyTorch's CUDA-event times; the
        // wall clock adds Node's wait for completed work, tens of ms at some sizes)
        const kernels = await profileWebGpu(step);
        const gpuMs = kernels.reduce((t, x) => t + x.ms, 0);
        const flashMs = kernels.filter((x) => /flash/i.test(x.label)).reduce((t, x) => t + x.ms, 0);
        const flops = 3.5 * 2 * B * H * n * n * d;
        record({ name, shape: `B${B} H${H} n${n} d${d} causal`, dtype: 'f32', ms, value: flops / (ms * 1e9), unit: `TFLOP/s (wall; GPU kernels ${gpuMs.toFixed(2)} ms = ${(flops / (gpuMs * 1e9)).toFixed(2)} TFLOP/s, of which attention kernels ${flashMs.toFixed(2)} ms)` });
        // forward alone (v4+v3's is v4's): FLOPs 2·2·B·H·n²·d halved by the mask
        if (ver.includes('+')) { for (const t of [q, k, v]) t.dispose(); continue; }
        const fwd = (): void => noGrad(() => { flashAttention(q, k, v, { causal: true }).dispose(); });
        const msF = await time(fwd, n >= 8192 ? 1 : 2, 3);
        record({ name: `attention-fwd (flash ${ver})`, shape: `B${B} H${H} n${n} d${d} causal`, dtype: 'f32', ms: msF, value: (2 * B * H * n * n * d) / (msF * 1e9), unit: 'TFLOP/s' });
        for (const t of [q, k, v]) t.dispose();
      } catch (e) {
        record({ name, shape: `n${n}`, dtype: 'f32', error: String((e as Error).message ?? e).slice(0, 300) });
      }
    }
  }
  delete process.env.NABLA_FLASH_KERNEL;
  setFlash4Overrides({});
}

/** The GPT training step of the CPU benchmark scaled up: 12 layers, d=768, 12 heads, T=256, batch 8; AdamW. */
async function gptStep(c: GptConfig, batch: number): Promise<void> {
  try {
    const model = new Gpt(c, 0);
    const [ki, kt] = split(key(1));
    const idx = randint(ki!, [batch, c.T], 0, c.vocab);
    const targets = randint(kt!, [batch * c.T], 0, c.vocab);
    const opt = adamw({ lr: 3e-4, betas: [0.9, 0.95], weightDecay: 0.1 });
    const params = namedParameters(model);
    let state = opt.init(params);
    let last: Tensor | null = null;
    const run = (): void => {
      const loss: Tensor = tidy(() => crossEntropy(reshape(model.forward(idx), [batch * c.T, c.vocab]), targets));
      backward(loss);
      state = opt.update(namedGrads(model), state, params).state;
      zeroGrad(model);
      last?.dispose();
      last = loss;
    };
    const ms = await time(run, 2, 3);
    const loss = (await last!.data())[0]!;
    record({ name: 'gpt-train-step', shape: `L${c.layers} d${c.d} T${c.T} B${batch} vocab${c.vocab}`, dtype: 'f32', ms, value: (batch * c.T) / (ms / 1000), unit: `tokens/s (loss ${loss.toFixed(3)}, ${(gptStepFlops(c, batch) / (ms * 1e9)).toFixed(2)} TFLOP/s)` });
    // where the step's time goes: the JS time to record it (no wait), kernels per step, and the
    // forward / forward+backward / whole step each closed by a device sync
    const stream = (getDefaultBackend() as unknown as { stream?: { totalDispatches: number; submits: number } }).stream;
    const d0 = stream?.totalDispatches ?? 0;
    const s0 = stream?.submits ?? 0;
    const t0 = performance.now();
    run();
    const hostMs = performance.now() - t0;
    await syncWebGpu();
    const dispatches = (stream?.totalDispatches ?? 0) - d0;
    const submits = (stream?.submits ?? 0) - s0;
    const fwdMs = await time(() => tidy(() => { crossEntropy(reshape(model.forward(idx), [batch * c.T, c.vocab]), targets); }), 2, 3);
    const fwdBwdMs = await time(() => {
      const l = tidy(() => crossEntropy(reshape(model.forward(idx), [batch * c.T, c.vocab]), targets));
      backward(l);
      l.dispose();
      zeroGrad(model);
    }, 2, 3);
    const kernels = await profileWebGpu(run);
    const total = kernels.reduce((a, k) => a + k.ms, 0);
    console.log(JSON.stringify({ name: 'gpt-step kernels', totalGpuMs: total, top: kernels.slice(0, 40).map((k) => `${k.ms.toFixed(2)} ms ×${k.count} ${k.label.slice(0, 120)}`) }));
    record({ name: 'gpt-train-step profile', shape: `L${c.layers} d${c.d} T${c.T} B${batch}`, dtype: 'f32', ms, unit: `host ${hostMs.toFixed(1)} ms to record one step; ${dispatches} dispatches in ${submits} submits; forward ${fwdMs.toFixed(1)} ms, forward+backward ${fwdBwdMs.toFixed(1)} ms, step ${ms.toFixed(1)} ms; kernels ${total.toFixed(1)} ms of GPU time (profiled)` });
    disposeOptimizerState(state);
    model.disposeMask();
    dispose(model);
  } catch (e) {
    record({ name: 'gpt-train-step', shape: `L${c.layers} d${c.d}`, dtype: 'f32', error: String((e as Error).message ?? e).slice(0, 300) });
  }
}

/** The selective scan (Mamba) forward + backward at the shape of PyTorch's reference loop in torch_gpu.py. */
async function scan(): Promise<void> {
  const [b, L, dd, N] = [4, 1024, 1536, 16];
  try {
    const r = (i: number, shape: number[], f: (t: Tensor) => Tensor = (t) => t): Tensor => {
      const t = tidy(() => f(normal(randomKey(40 + i), shape)));
      t.requiresGrad = true;
      return t;
    };
    const xs = {
      u: r(0, [b, L, dd]), delta: r(1, [b, L, dd], (t) => add(mul(t, 0.5), -1)), A: r(2, [dd, N], (t) => mul(exp(mul(t, 0.5)), -1)),
      B: r(3, [b, L, N]), C: r(4, [b, L, N]), D: r(5, [dd]), z: r(6, [b, L, dd]), deltaBias: r(7, [dd], (t) => mul(t, 0.3)),
    };
    const all = Object.values(xs);
    const step = (): void => {
      const loss = tidy(() => sum(selectiveScan(xs, { deltaSoftplus: true })[0]));
      backward(loss);
      loss.dispose();
      for (const t of all) { t.grad?.dispose(); t.grad = null; }
    };
    const ms = await time(step, 1, 3);
    record({ name: 'selective-scan-fwd-bwd (fused)', shape: `b${b} d${dd} N${N} L${L}`, dtype: 'f32', ms, value: (b * L) / (ms / 1000), unit: 'tokens/s' });
    for (const t of all) t.dispose();
  } catch (e) {
    record({ name: 'selective-scan-fwd-bwd (fused)', shape: `b${b} d${dd} N${N} L${L}`, dtype: 'f32', error: String((e as Error).message ?? e).slice(0, 300) });
  }
}

/** One LSTM layer forward + backward (input projection as a product, then the fused recurrence), as torch.nn.LSTM in torch_gpu.py. */
async function lstm(): Promise<void> {
  const [L, b, I, H] = [256, 64, 512, 512];
  try {
    const p = (i: number, shape: number[], s: number): Tensor => {
      const t = tidy(() => mul(normal(randomKey(60 + i), shape), s));
      t.requiresGrad = true;
      return t;
    };
    const x = p(0, [L * b, I], 1), wih = p(1, [4 * H, I], 0.04), whh = p(2, [4 * H, H], 0.04), bih = p(3, [4 * H], 0.04), bhh = p(4, [4 * H], 0.04);
    const h0 = p(5, [b, H], 0), c0 = p(6, [b, H], 0);
    const all = [x, wih, whh, bih, bhh];
    const step = (): void => {
      const loss = tidy(() => {
        const xp = reshape(add(matmulT(x, wih, false, true), bih), [L, b, 4 * H]);
        return sum(rnnScan('lstm', { xp, whh, bhh, h0, c0 })[0]!);
      });
      backward(loss);
      loss.dispose();
      for (const t of all) { t.grad?.dispose(); t.grad = null; }
    };
    const ms = await time(step, 1, 3);
    record({ name: 'lstm-fwd-bwd', shape: `L${L} b${b} I${I} H${H}`, dtype: 'f32', ms, value: (b * L) / (ms / 1000), unit: 'tokens/s' });
    for (const t of [...all, h0, c0]) t.dispose();
  } catch (e) {
    record({ name: 'lstm-fwd-bwd', shape: `L${L} b${b} I${I} H${H}`, dtype: 'f32', error: String((e as Error).message ?? e).slice(0, 300) });
  }
}

async function main(): Promise<void> {
  const gpu = await webgpu();
  if (!gpu) {
    record({ name: 'adapter', shape: '', dtype: '', error: webgpuUnavailableReason() });
  } else {
    await useBackend(gpu);
    const ctx = await gpuContext();
    console.log(JSON.stringify({ adapter: ctx?.adapterName, f16: ctx?.f16, f16Path: gpu.half, features: ctx?.adapterFeatures, info: ctx?.adapterInfo, limits: ctx?.limits }));
    record({ name: 'adapter', shape: '', dtype: '', error: undefined, unit: ctx?.adapterName });
    const sizes = arg('sizes', '1024,2048,4096,8192').split(',').filter(Boolean).map(Number);
    await gemm('f32', sizes);
    // hgemm on every adapter: native f16 kernels under shader-f16, else packed halves (two per u32 word, f32
    // accumulation); which one ran is its own row ('native' | 'packed')
    record({ name: 'hgemm-path', shape: '', dtype: 'f16', unit: gpu.half });
    await gemm('f16', sizes);
    const only = arg('only', 'attention,flash,gpt,scan,lstm').split(',');
    if (only.includes('attention')) await attention(arg('attn-n', '1024,2048,4096').split(',').map(Number));
    if (only.includes('flash')) {
      // which tiles v4 takes here (they follow the device's workgroup-memory limit and subgroup size)
      const plan = flash4Plan(gpu, 64, 64);
      record({ name: 'flash v4 plan (d 64)', shape: JSON.stringify(plan ?? null), dtype: 'f32', unit: `workgroup storage ${ctx?.limits.workgroupStorageSize ?? '?'} B, subgroup min ${ctx?.subgroupMin ?? '?'}` });
    }
    if (only.includes('flash')) await flash(arg('flash-n', '1024,2048,4096,8192,16384').split(',').map(Number), arg('flash-kernels', 'v3,v4,v4pair,v4+v3').split(','));
    if (only.includes('gpt')) await gptStep({ vocab: 256, T: 256, d: 768, heads: 12, layers: 12 }, 8);
    if (only.includes('scan')) await scan();
    if (only.includes('lstm')) await lstm();
  }
  writeFileSync(arg('out', 'gpu-nabla.json'), JSON.stringify(results, null, 1));
  await releaseWebGpu();
}

void main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
