/**
 * The playground's training tasks, free of DOM and worker APIs so that Node
 * tests can run them too: a 2-D diffusion/flow model trained in chunks (so a
 * worker can stop, resume and sample between them), and the VQ usage race.
 */
// the library by module, to show where each piece lives (the root src/index.ts is browser-safe too: test/io/browserBundle.test.ts)
import type { Tensor } from '../../src/core/tensor.js';
import type { Key } from '../../src/core/random.js';
import { tidy } from '../../src/core/memory.js';
import { foldIn, normal, randomKey, splitKey } from '../../src/ops/random.js';
import { adamw } from '../../src/optim/adam.js';
import { loadStateDict } from '../../src/nn/module.js';
import { ParamStep } from './paramStep.js';
import type { Safetensors } from '../../src/io/safetensors.js';
import * as df from '../../src/zoo/diffusion/index.js';
import * as vq from '../../src/zoo/vq/index.js';
import { readF64, readScalars, safetensorsOf } from './read.js';
import type { ToyDataset } from '../../src/zoo/data/toy2d.js';
import { resolveDataset } from './drawn.js';
import { loadDigits, sampleBatch } from '../../src/zoo/data/digits.js';

export type Method = 'flow' | 'ddpm' | 'edm';
export const SAMPLERS = ['euler', 'heun', 'dpm++2m', 'ddim', 'ddpm', 'flow-euler'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface DiffusionConfig {
  dataset: string;
  method: Method;
  lr: number;
  seed: number;
  hidden?: number[];
  batch?: number;
  /** x, y pairs of the user's drawing, for dataset 'drawn' (drawn.ts) */
  points?: Float64Array | readonly number[];
}

/** A 2-D generative model being trained step by step. */
export class DiffusionTask {
  readonly net: df.TimeMlp;
  readonly config: DiffusionConfig;
  step = 0;
  #optim: ParamStep;
  #proc = df.ddpm();
  #edm: df.EdmPrecond;
  #key: Key;
  #data: ToyDataset;

  constructor(config: DiffusionConfig) {
    this.#data = resolveDataset(config.dataset, config.points);
    this.config = config;
    this.#key = randomKey(config.seed);
    const cScale = config.method === 'ddpm' ? 1 / 1000 : 1;
    this.net = new df.TimeMlp(2, { key: this.#key, hidden: config.hidden ?? DEFAULT_HIDDEN, cScale });
    this.#edm = df.edmPrecondition(this.f, { sigmaData: 1 });
    this.#optim = new ParamStep(this.net, adamw({ lr: config.lr, weightDecay: 0 }));
  }

  get f(): df.Net {
    return (x, c) => this.net.forward(x, c);
  }

  /** The training data law. */
  sampleData(key: Key, n: number): Tensor {
    return this.#data.sample(key, n);
  }

  /**
   * Run n optimiser steps; returns their losses. Async because a WebGPU
   * loss can only be read with `await`: the chunk's losses stay on the device
   * until its end, so the steps queue without a read-back between them.
   */
  async train(n: number): Promise<number[]> {
    const pending: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const k = foldIn(this.#key, 1000 + this.step);
      const loss = tidy(() => {
        const [kd, kl] = splitKey(k);
        const x0 = this.sampleData(kd!, this.config.batch ?? 256);
        const l =
          this.config.method === 'flow'
            ? df.flowMatchingLoss(this.f, x0, { key: kl! })
            : this.config.method === 'ddpm'
              ? df.diffusionLoss(this.f, x0, { process: this.#proc, prediction: 'eps', key: kl! })
              : df.edmLoss(this.#edm, x0, { key: kl! });
        this.#optim.step(l);
        return l;
      });
      pending.push(loss);
      this.step++;
    }
    return readScalars(pending);
  }

  /** The σ-space denoiser of the model. */
  denoiser(): df.Denoiser {
    if (this.config.method === 'flow') return df.denoiserFromPrediction(this.f, df.flowMatching(), 'velocity');
    if (this.config.method === 'ddpm') return df.denoiserFromPrediction(this.f, this.#proc, 'eps');
    return this.#edm.denoiser;
  }

  /** n samples with a sampler at about `nfe` evaluations, and the trajectories of the first `paths` points. */
  async sample(sampler: SamplerName, nfe: number, n: number, paths = 40): Promise<{ points: Float64Array; trajectories: Float64Array[]; nfe: number }> {
    const D = this.denoiser();
    const key = foldIn(this.#key, 7);
    const steps = Math.max(1, Math.round(sampler === 'heun' ? (nfe + 1) / 2 : nfe));
    const r = tidy(() => {
      let r: df.SampleResult;
      if (sampler === 'flow-euler') {
        if (this.config.method !== 'flow') throw new Error('playground: the flow sampler needs a flow-matching model');
        r = df.sampleFlowEuler(D, normal(key, [n, 2]), df.flowSigmas(steps), { trajectory: true });
      } else if (sampler === 'ddpm' || sampler === 'ddim') {
        const grid = df.ddpmSigmas(this.#proc, Math.min(steps, 1000));
        const x = df.initialNoise(key, [n, 2], grid[0]!);
        r = sampler === 'ddpm' ? df.sampleDdpm(D, x, grid, { key, trajectory: true }) : df.sampleDdim(D, x, grid, { trajectory: true });
      } else {
        const grid = df.karrasSigmas(Math.max(2, steps), { sigmaMax: 80, sigmaMin: 0.002 });
        const x = df.initialNoise(key, [n, 2], grid[0]!);
        r = sampler === 'euler' ? df.sampleEuler(D, x, grid, { trajectory: true }) : sampler === 'heun' ? df.sampleHeun(D, x, grid, { trajectory: true }) : df.sampleDpmSolverPP2M(D, x, grid, { trajectory: true });
      }
      return { x: r.x, trajectory: r.trajectory ?? [], nfe: r.nfe };
    });
    try {
      const points = await readF64(r.x);
      // trajectories of the first points, each as x₀, y₀, x₁, y₁, … over the steps
      const traj = await Promise.all(r.trajectory.map(async (t) => await t.data()));
      const trajectories = Array.from({ length: Math.min(paths, n) }, (_, i) => {
        const out = new Float64Array(2 * traj.length);
        traj.forEach((v, s) => {
          out[2 * s] = Number(v[2 * i]);
          out[2 * s + 1] = Number(v[2 * i + 1]);
        });
        return out;
      });
      return { points, trajectories, nfe: r.nfe };
    } finally {
      for (const t of [r.x, ...r.trajectory]) t.dispose();
    }
  }

  /**
   * The weights as safetensors bytes (copied to the host first, so a model
   * on WebGPU saves too); the metadata holds what rebuilds the task: method,
   * data set, hidden widths, and the step reached.
   */
  async weights(): Promise<Uint8Array> {
    const md = { method: this.config.method, dataset: this.config.dataset, hidden: JSON.stringify(this.config.hidden ?? DEFAULT_HIDDEN), step: String(this.step) };
    return safetensorsOf(this.net, md);
  }

  /**
   * Load weights saved by `weights()`: the metadata must name this task's
   * method and data set (`diffusionWeightsConfig` builds a matching task),
   * and a tensor of another shape fails naming it (nn.loadStateDict).
   * Sampling then needs no retraining; the step count is restored.
   */
  loadWeights(st: Safetensors): void {
    const md = st.metadata ?? {};
    if (md.method !== this.config.method || md.dataset !== this.config.dataset) {
      throw new Error(`playground: the weights are of a ${md.method ?? '(no method)'} model of '${md.dataset ?? '(no data set)'}', this task is a ${this.config.method} model of '${this.config.dataset}'`);
    }
    loadStateDict(this.net, st.tensors);
    this.step = Number(md.step ?? 0);
  }
}

const DEFAULT_HIDDEN = [128, 128, 128];
const METHODS: readonly Method[] = ['flow', 'ddpm', 'edm'];

/** The task settings that saved weights need (method, data set, hidden widths), read from their metadata. */
export function diffusionWeightsConfig(md: Readonly<Record<string, string>> | undefined): { method: Method; dataset: string; hidden: number[] } {
  const method = md?.method as Method | undefined;
  if (!method || !METHODS.includes(method)) throw new Error(`playground: these weights name no diffusion method (metadata method = ${JSON.stringify(method ?? null)}; one of ${METHODS.join(', ')}); were they saved from the diffusion panel?`);
  if (!md?.dataset) throw new Error('playground: these weights name no data set (metadata dataset); were they saved from the diffusion panel?');
  const hidden = md.hidden ? (JSON.parse(md.hidden) as number[]) : DEFAULT_HIDDEN;
  return { method, dataset: md.dataset, hidden };
}

export type VqVariant = 'STE' | 'rotation' | 'SimVQ';
export const VQ_VARIANTS: VqVariant[] = ['STE', 'rotation', 'SimVQ'];

/** The three quantisers of the collapse comparison on the digits, trained in lockstep. */
export class VqRace {
  readonly models: Record<VqVariant, vq.VQVAE>;
  step = 0;
  #train: Tensor;
  #test: Tensor;
  #key: Key;

  constructor(codes: number, seed = 0) {
    this.#key = randomKey(seed);
    this.#train = loadDigits({ layout: 'flat' }).x;
    this.#test = loadDigits({ layout: 'flat', split: 'test' }).x;
    const key = this.#key;
    const q: Record<VqVariant, () => vq.QuantizerLike> = {
      STE: () => new vq.VectorQuantizer(codes, 8, { key }),
      rotation: () => new vq.VectorQuantizer(codes, 8, { key, gradient: 'rotation' }),
      SimVQ: () => new vq.SimVQ(codes, 8, { key }),
    };
    this.models = Object.fromEntries(VQ_VARIANTS.map((v) => [v, vq.mlpVQVAE({ key: foldIn(key, 7), dim: 64, latentDim: 8, hidden: 64, quantizer: q[v]() })])) as Record<VqVariant, vq.VQVAE>;
  }

  /** n more steps of each model (from step this.step), then the held-out metrics. */
  train(n: number): Record<VqVariant, vq.VqMetrics> {
    const start = this.step;
    const out = {} as Record<VqVariant, vq.VqMetrics>;
    for (const v of VQ_VARIANTS) {
      // each chunk continues the data stream where the last one stopped
      vq.trainVq(this.models[v], (k, b) => sampleBatch(foldIn(k, start), this.#train, b).x, { key: foldIn(this.#key, start), steps: n, batch: 64, lr: 2e-3 });
      out[v] = vq.evaluateVq(this.models[v], this.#test);
    }
    this.step += n;
    return out;
  }
}
