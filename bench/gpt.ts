/**
 * GPT training-step family, the end-to-end benchmark: one step (forward,
 * backward, AdamW update) of the pre-LN GPT of gptModel.ts on random tokens,
 * vocab 256, T = 256, batch 16 (4,096 tokens), at two sizes — 2 layers d=128
 * 4 heads (0.5M parameters) and 4 layers d=256 4 heads (3.4M) — in nabla,
 * PyTorch (torch_gpt.py) and TensorFlow.js (tfjs_gpt.ts). Tokens per second.
 *
 * A step takes seconds, so the family times fewer, longer samples than the
 * others (see `gptTiming`); an implementation whose smaller model predicts
 * more than four minutes a step for the larger one is skipped, and
 * TensorFlow.js cpu runs the smaller model only.
 *
 *   npx tsx bench/gpt.ts [driver options, see driver.ts]
 */
import { isMain, runFamilies } from './driver.js';
import { TARGET_HEADER, measure, pickPeers, progress, rateOf, runCases, targetRow, type BenchCase, type Family, type FamilyContext, type Impl, type TimingConfig } from './harness.js';
import { Gpt, gptParams, gptStepFlops, type GptConfig } from './gptModel.js';
import { pathsNote, probePaths } from './probe.js';
import { backward } from '../src/autodiff/backward.js';
import { tidy } from '../src/core/memory.js';
import { key, split } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';
import { dispose, namedGrads, namedParameters, zeroGrad } from '../src/nn/module.js';
import { crossEntropy } from '../src/ops/nn.js';
import { randint } from '../src/ops/random.js';
import { reshape } from '../src/ops/views.js';
import { adamw } from '../src/optim/adam.js';
import { disposeOptimizerState } from '../src/optim/optimizer.js';

export interface GptSpec extends GptConfig {
  family: 'gpt';
  batch: number;
}

/** AdamW as in all three implementations: lr 3e-4, betas (0.9, 0.95), weight decay 0.1 on every parameter. */
export const ADAMW = { lr: 3e-4, betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.1 };

/** Fewer, longer samples: a step of the larger model takes seconds (a minute in TensorFlow.js wasm). */
export function gptTiming(cfg: TimingConfig, quick: boolean): TimingConfig {
  return quick ? cfg : { warmupMs: 0, minSampleMs: 0, samples: 5, minSamples: 3, budgetMs: 20_000, maxCallMs: 240_000 };
}

function cases(quick: boolean): BenchCase[] {
  const sizes: [string, Omit<GptSpec, 'family'>][] = quick
    ? [['1 layer d=32 2 heads, T=16, batch 2', { vocab: 256, T: 16, d: 32, heads: 2, layers: 1, batch: 2 }]]
    : [
        ['2 layers d=128 4 heads', { vocab: 256, T: 256, d: 128, heads: 4, layers: 2, batch: 16 }],
        ['4 layers d=256 4 heads', { vocab: 256, T: 256, d: 256, heads: 4, layers: 4, batch: 16 }],
      ];
  return sizes.map(([label, s]) => ({
    family: 'gpt',
    name: `${label} (${(gptParams(s) / 1e6).toFixed(2)}M params)`,
    spec: { family: 'gpt', ...s },
    work: s.batch * s.T,
    unit: 'tokens/s' as const,
    series: 'gpt',
    cost: gptStepFlops(s, s.batch),
  }));
}

/** A nabla training step on fixed random tokens; `run` is one step, `dispose` frees everything. */
export function nablaGptStep(s: Omit<GptSpec, 'family'>, seed = 0): { model: Gpt; idx: Tensor; targets: Tensor; run: () => void; loss: () => number; dispose: () => void } {
  const model = new Gpt(s, seed);
  const [ki, kt] = split(key(seed + 1));
  const idx = randint(ki!, [s.batch, s.T], 0, s.vocab);
  const targets = randint(kt!, [s.batch * s.T], 0, s.vocab);
  const opt = adamw(ADAMW);
  const params = namedParameters(model);
  let state = opt.init(params);
  let last = Number.NaN;
  const run = (): void => {
    const loss: Tensor = tidy(() => crossEntropy(reshape(model.forward(idx), [s.batch * s.T, s.vocab]), targets));
    backward(loss);
    state = opt.update(namedGrads(model), state, params).state;
    zeroGrad(model);
    last = loss.item();
    loss.dispose();
  };
  return {
    model,
    idx,
    targets,
    run,
    loss: () => last,
    dispose: () => {
      disposeOptimizerState(state);
      model.disposeMask();
      dispose(model);
      idx.dispose();
      targets.dispose();
    },
  };
}

const nabla: Impl = {
  name: 'nabla',
  run: async (c, cfg) => {
    const step = nablaGptStep(c.spec as unknown as GptSpec);
    try {
      const note = pathsNote(probePaths(step.run), 6);
      const t = measure(step.run, cfg);
      if (!Number.isFinite(step.loss())) return { skip: `the loss is ${step.loss()}: the step is broken` };
      return { ...t, note };
    } finally {
      step.dispose();
    }
  },
};

export const gptFamily: Family = {
  name: 'gpt',
  title: 'GPT training step (forward, backward, AdamW): tokens/s',
  async run(ctx: FamilyContext) {
    const all = cases(ctx.quick).filter((c) => c.name.includes(ctx.filter));
    const results = await runCases(all, [nabla, ...pickPeers(ctx, ['torch', 'tfjs-wasm', 'tfjs-cpu'])], gptTiming(ctx.cfg, ctx.quick), {
      skipFor: (impl, c) => (impl === 'tfjs-cpu' && (c.spec.d as number) > 128 ? 'plain JavaScript kernels: the smaller model only (~30 tokens/s here, over 2 minutes a step)' : undefined),
      onResult: progress(ctx.log),
    });
    const notes = results.map((r) => {
      const m = r.results.find((x) => x.impl === 'nabla');
      return `nabla ${r.name}: ${m?.ok ? (m.note ?? '') : 'not run'}`;
    });
    const [tiny, small] = all.map((c) => c.name);
    const extra = ctx.quick
      ? []
      : [
          {
            title: 'against the targets of issue 3',
            header: TARGET_HEADER,
            rows: [
              targetRow('small model (4 layers d=256): nabla / PyTorch', rateOf(results, small!, 'nabla'), rateOf(results, small!, 'torch'), 0.6),
              targetRow('tiny model (2 layers d=128): nabla / PyTorch', rateOf(results, tiny!, 'nabla'), rateOf(results, tiny!, 'torch'), 1.0),
              targetRow('small model: nabla / TensorFlow.js wasm', rateOf(results, small!, 'nabla'), rateOf(results, small!, 'tfjs-wasm'), 30),
              targetRow('tiny model: nabla / TensorFlow.js wasm', rateOf(results, tiny!, 'nabla'), rateOf(results, tiny!, 'tfjs-wasm'), 30),
            ],
          },
        ];
    return {
      family: 'gpt',
      title: this.title,
      cases: results,
      extra,
      ratios: [
        ['nabla', 'torch'],
        ['nabla', 'tfjs-wasm'],
      ],
      notes: ['pre-LN GPT, GELU (tanh), vocab 256, T=256, batch 16 (4,096 tokens a step), AdamW lr 3e-4 β (0.9, 0.95) wd 0.1; random tokens', ...notes],
    };
  },
};

if (isMain(import.meta.url)) await runFamilies([gptFamily]);
