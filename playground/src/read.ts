/**
 * Reading values back from the device the way every backend allows: with
 * `await t.data()`. The CPU backend could read synchronously (`item()`,
 * `toF64()`), but a WebGPU buffer can only be mapped asynchronously in a
 * browser, so the playground's tasks read through these helpers on both.
 */
import type { Tensor } from '../../src/core/tensor.js';
import { tidy } from '../../src/core/memory.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { evalMode, stateDict, train, type Module } from '../../src/nn/module.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { cpu } from '../../src/backends/cpu/index.js';
import { toBackend } from '../../src/backends/webgpu/index.js';
import type { LanguageModel } from '../../src/zoo/lm/model.js';
import { TokenSampler, type SamplingOptions } from '../../src/zoo/lm/sample.js';

/** The values of one-element tensors, read with `await`, disposing them. */
export async function readScalars(ts: Tensor[]): Promise<number[]> {
  try {
    return await Promise.all(ts.map(async (t) => Number((await t.data())[0])));
  } finally {
    for (const t of ts) t.dispose();
  }
}

/** A tensor's values as float64, read with `await`; the tensor is disposed. */
export async function readF64(t: Tensor): Promise<Float64Array> {
  try {
    return Float64Array.from(await t.data(), Number);
  } finally {
    t.dispose();
  }
}

/**
 * A module's state dict as safetensors bytes. The writer takes host tensors
 * only, so each tensor is copied to the CPU first (an awaited read on WebGPU,
 * a plain copy on the CPU).
 */
export async function safetensorsOf(m: Module, metadata: Record<string, string>): Promise<Uint8Array> {
  const host: Record<string, Tensor> = {};
  try {
    for (const [name, t] of Object.entries(stateDict(m))) host[name] = await toBackend(t, cpu());
    return serializeSafetensors(host, metadata);
  } finally {
    for (const t of Object.values(host)) t.dispose();
  }
}

/**
 * The async twin of zoo/lm `generateTokens` (same sampler, same seeds, so
 * the same tokens): feed the prompt through `step`, then draw each new token
 * from the last logits, awaiting each read-back.
 */
export async function generateTokensAsync(model: LanguageModel, prompt: readonly number[], o: SamplingOptions & { maxTokens: number; seed?: number }): Promise<number[]> {
  if (prompt.length === 0) throw new Error('the prompt is empty; give at least one token to start from');
  const sampler = new TokenSampler(o);
  const wasTraining = model.training;
  evalMode(model);
  const state = model.initState(1);
  const history = [...prompt];
  const tokens: number[] = [];
  const logitsAfter = (t: number): Promise<Float64Array> => readF64(noGrad(() => tidy(() => model.step([t], state))));
  try {
    let logits: Float64Array = new Float64Array(0);
    for (const t of prompt) logits = await logitsAfter(t);
    for (let i = 0; i < o.maxTokens; i++) {
      const next = sampler.next(logits, history, history.length);
      tokens.push(next);
      history.push(next);
      if (i + 1 < o.maxTokens) logits = await logitsAfter(next);
    }
    return tokens;
  } finally {
    state.dispose();
    train(model, wasTraining);
  }
}
