/**
 * The playground's normalising flow: a Real NVP (Dinh, Sohl-Dickstein &
 * Bengio, arXiv 1605.08803) of affine couplings with alternating masks over a
 * standard Gaussian prior, sized for 2-D (zoo/flows `realNVP`), trained by
 * maximum likelihood — Adam on −mean log p(x), the objective of zoo/flows
 * `fitDensity` — in chunks of steps that keep the optimiser state, so the
 * worker can stop, resume and sample between them like the diffusion task.
 *
 * Sampling is one exact inverse pass x = f⁻¹(z), z ~ N(0, I): there is no
 * sampler or NFE to choose. The trajectories follow points through the
 * layers from the base (z) to the data, one vertex per layer's inverse.
 * The density is exact: log p(x) = log N(f(x); 0, I) + Σ log|det ∂f_l|.
 * Free of DOM and worker APIs, so Node tests run it too.
 */
import type { Tensor } from '../../src/core/tensor.js';
import type { Key } from '../../src/core/random.js';
import { tidy } from '../../src/core/memory.js';
import { foldIn, normal, randomKey, splitKey } from '../../src/ops/random.js';
import { noGrad } from '../../src/autodiff/tape.js';
import { adam } from '../../src/optim/adam.js';
import { loadStateDict } from '../../src/nn/module.js';
import { ParamStep } from './paramStep.js';
import type { Safetensors } from '../../src/io/safetensors.js';
import { safetensorsOf } from './read.js';
import { realNVP } from '../../src/zoo/flows/models.js';
import type { Flow } from '../../src/zoo/flows/flow.js';
import type { ToyDataset } from '../../src/zoo/data/toy2d.js';
import { resolveDataset } from './drawn.js';

/** The method name of the normalising flow in the model menu and the train message. */
export const NF_METHOD = 'nf';
export type NfMethod = typeof NF_METHOD;

export interface FlowConfig {
  dataset: string;
  lr: number;
  seed: number;
  /** x, y pairs of the drawing, for dataset 'drawn' */
  points?: Float64Array | readonly number[];
  /** affine couplings (default 8, as docs/flows.md's RealNVP row) */
  couplings?: number;
  /** conditioner MLP widths (default [64, 64]) */
  hidden?: number[];
  batch?: number;
}

/** The Real NVP of a config (the weights of `FlowTask.weights()` load into it). */
export function buildFlow(key: Key, couplings: number, hidden: readonly number[]): Flow {
  return realNVP({ key, eventShape: [2], couplings, hidden, prior: 'gaussian' });
}

/** A 2-D Real NVP being trained step by step by maximum likelihood. */
export class FlowTask {
  readonly net: Flow;
  readonly config: FlowConfig;
  step = 0;
  #data: ToyDataset;
  #optim: ParamStep;
  #key: Key;

  constructor(config: FlowConfig) {
    this.#data = resolveDataset(config.dataset, config.points);
    this.config = config;
    this.#key = randomKey(config.seed);
    this.net = buildFlow(this.#key, config.couplings ?? 8, config.hidden ?? [64, 64]);
    this.#optim = new ParamStep(this.net, adam({ lr: config.lr }));
  }

  /** The training data law. */
  sampleData(key: Key, n: number): Tensor {
    return this.#data.sample(key, n);
  }

  /**
   * Run n optimiser steps on fresh batches; returns their losses (−mean log p,
   * nats). Async like DiffusionTask.train: the losses are read back with
   * `await` at the end of the chunk, the only way a WebGPU tensor can be read.
   */
  async train(n: number): Promise<number[]> {
    const pending: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const k = foldIn(this.#key, 1000 + this.step);
      pending.push(
        tidy(() => {
          const l = this.net.nll(this.sampleData(k, this.config.batch ?? 256));
          this.#optim.step(l);
          return l;
        }),
      );
      this.step++;
    }
    return Promise.all(pending.map(async (t) => Number((await t.data())[0]))).finally(() => pending.forEach((t) => t.dispose()));
  }

  /** log p(x) per row of x (n, 2), exact. */
  logProb(x: Tensor): Tensor {
    return noGrad(() => this.net.logProb(x));
  }

  /**
   * n samples by one inverse pass, and the paths of the first `paths` of them
   * through the layers, each as x₀, y₀, x₁, y₁, … from the base draw z to the sample.
   */
  async sample(n: number, paths = 40): Promise<{ points: Float64Array; trajectories: Float64Array[]; nfe: number }> {
    const [kz] = splitKey(foldIn(this.#key, 7));
    const layers = this.net.body.layers;
    const stages = noGrad(() =>
      tidy(() => {
        const out = [normal(kz!, [n, 2])];
        for (let i = layers.length - 1; i >= 0; i--) out.push(layers[i]!.inverse(out[out.length - 1]!));
        return out;
      }),
    );
    let values: Float64Array[];
    try {
      values = await Promise.all(stages.map(async (t) => Float64Array.from(await t.data(), Number)));
    } finally {
      stages.forEach((t) => t.dispose());
    }
    const trajectories = Array.from({ length: Math.min(paths, n) }, (_, p) => {
      const out = new Float64Array(2 * values.length);
      values.forEach((v, s) => {
        out[2 * s] = v[2 * p]!;
        out[2 * s + 1] = v[2 * p + 1]!;
      });
      return out;
    });
    // one pass through the network: the flow's "NFE"
    return { points: values[values.length - 1]!, trajectories, nfe: 1 };
  }

  /** The weights as safetensors bytes; the metadata rebuilds the architecture (flowWeightsConfig, buildFlow). Async like DiffusionTask.weights. */
  async weights(): Promise<Uint8Array> {
    // safetensorsOf copies to the host first, so a flow trained on WebGPU saves too
    return safetensorsOf(this.net, {
      method: NF_METHOD,
      model: 'realNVP',
      couplings: String(this.config.couplings ?? 8),
      hidden: (this.config.hidden ?? [64, 64]).join(','),
      dataset: this.config.dataset,
      step: String(this.step),
    });
  }

  /**
   * Load weights saved by `weights()` into this task (built from
   * `flowWeightsConfig` of the same metadata): the data set must match, and
   * a tensor of another shape fails naming it (nn.loadStateDict). The step
   * count is restored; the optimiser starts afresh.
   */
  loadWeights(st: Safetensors): void {
    const md = st.metadata ?? {};
    if (md.method !== NF_METHOD || md.dataset !== this.config.dataset) {
      throw new Error(`playground: the weights are of a ${md.method ?? '(no method)'} model of '${md.dataset ?? '(no data set)'}', this task is a normalising flow of '${this.config.dataset}'`);
    }
    loadStateDict(this.net, st.tensors);
    this.step = Number(md.step ?? 0);
  }
}

/** The FlowTask settings that saved weights need (data set, couplings, widths), read from their metadata. */
export function flowWeightsConfig(md: Readonly<Record<string, string>> | undefined): { dataset: string; couplings: number; hidden: number[] } {
  if (md?.method !== NF_METHOD) throw new Error(`playground: these weights are not of a normalising flow (metadata method = ${JSON.stringify(md?.method ?? null)}, expected '${NF_METHOD}')`);
  if (!md.dataset) throw new Error('playground: these weights name no data set (metadata dataset); were they saved from the diffusion panel?');
  const couplings = Number(md.couplings ?? 8);
  const hidden = (md.hidden ?? '64,64').split(',').map(Number);
  if (!Number.isInteger(couplings) || couplings < 1 || !hidden.every((h) => Number.isInteger(h) && h > 0)) throw new Error(`playground: bad flow metadata: couplings '${md.couplings}', hidden '${md.hidden}'`);
  return { dataset: md.dataset, couplings, hidden };
}
