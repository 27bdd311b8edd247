/**
 * The diffusion and flow-matching models of `nabla train diffusion`, all on
 * the 2-D `TimeMlp` network, all sampled through σ-space denoisers so that
 * every sampler of src/zoo/diffusion runs on every model:
 *
 * | model | process | network predicts | loss | default sampler |
 * |---|---|---|---|---|
 * | edm | EDM σ(t) = t | F of the preconditioned D (Karras et al. 2206.00364) | edmLoss | heun |
 * | ddpm | discrete, T = 1000, linear β (Ho et al. 2006.11239) | ε | L_simple | ddim |
 * | vp, vp-cosine, subvp | VP SDEs (Song et al. 2011.13456; Nichol & Dhariwal 2102.09672) | ε (vp-cosine: v) | diffusionLoss | dpmpp-2m |
 * | ve | VE SDE, σ ∈ [0.01, 50] | ε | diffusionLoss | heun |
 * | ncsn | geometric σ levels 10 → 0.01 (Song & Ermon 1907.05600) | the score | ncsnLoss | langevin |
 * | flow-matching, rectified-flow | xₜ = (1 − t)x₀ + tε (Lipman et al. 2210.02747; Liu et al. 2209.03003) | the velocity | flowMatchingLoss | flow-euler / flow-heun |
 *
 * Flow matching and rectified flow train the same objective (the OT path
 * with σ_min = 0); they differ here only in the default sampler (Liu et al.
 * integrate with Euler). The reflow step of rectified flow is not run by
 * the CLI (src/zoo/diffusion/reflow.ts has it for code).
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { log, mul } from '../../ops/elementwise.js';
import { foldIn, normal, splitKey } from '../../ops/random.js';
import type { Denoiser, Net } from '../../zoo/diffusion/denoiser.js';
import * as df from '../../zoo/diffusion/index.js';
import type { GenConfig } from './config.js';
import { genData } from './data.js';
import { thinFrames, type GenModel, type SampleOutput } from './model.js';
import { loadRunCheckpoint, readRunConfig } from './run.js';

type Run = (D: Denoiser, x: Tensor, sigmas: readonly number[], o: df.SamplerOptions) => df.SampleResult;

/** Every sampler by its CLI name. */
export const DIFFUSION_SAMPLERS: Readonly<Record<string, Run>> = {
  euler: (D, x, s, o) => df.sampleEuler(D, x, s, o),
  heun: (D, x, s, o) => df.sampleHeun(D, x, s, o),
  rk45: (D, x, s, o) => df.sampleRk45(D, x, s, { ...o, rtol: 1e-3, atol: 1e-3 }),
  'dpmpp-2m': (D, x, s, o) => df.sampleDpmSolverPP2M(D, x, s, o),
  ddpm: (D, x, s, o) => df.sampleDdpm(D, x, s, o),
  ddim: (D, x, s, o) => df.sampleDdim(D, x, s, o),
  'euler-maruyama': (D, x, s, o) => df.sampleEulerMaruyama(D, x, s, o),
  pc: (D, x, s, o) => df.samplePredictorCorrector(D, x, s, o),
  // step size relative to the smallest level: α/σ² = ε/σ_L² = 0.5 at every level
  langevin: (D, x, s, o) => df.sampleAnnealedLangevin(D, x, s, { ...o, stepsPerSigma: 20, stepSize: 0.5 * Math.min(...s.filter((v) => v > 0)) ** 2 }),
  'flow-euler': (D, x, s, o) => df.sampleFlowEuler(D, x, s, o),
  'flow-heun': (D, x, s, o) => df.sampleFlowHeun(D, x, s, o),
};

const NCSN_MAX = 10;
const NCSN_MIN = 0.01;

interface Spec {
  /** the network's loss on a batch */
  loss: (net: Net, x: Tensor, key: Key) => Tensor;
  denoiser: (net: Net) => Denoiser;
  /** the σ grid of `steps` steps for a σ-space sampler (flow samplers on flow models use flowSigmas) */
  grid: (steps: number) => number[];
  cScale: number;
  defaultSampler: string;
  defaultSteps: number;
  flow?: boolean;
}

function spec(model: string): Spec {
  const fromProcess = (p: df.Process, prediction: df.Prediction, defaultSampler: string, defaultSteps: number): Spec => ({
    loss: (net, x, key) => df.diffusionLoss(net, x, { process: p, prediction, key }),
    denoiser: (net) => df.denoiserFromPrediction(net, p, prediction),
    grid: (n) => df.processSigmas(p, n),
    cScale: 1,
    defaultSampler,
    defaultSteps,
  });
  switch (model) {
    case 'edm':
      return {
        loss: (net, x, key) => df.edmLoss(df.edmPrecondition(net, { sigmaData: 1 }), x, { key }),
        denoiser: (net) => df.edmPrecondition(net, { sigmaData: 1 }).denoiser,
        grid: (n) => df.karrasSigmas(n),
        cScale: 1,
        defaultSampler: 'heun',
        defaultSteps: 32,
      };
    case 'ddpm': {
      const p = df.ddpm();
      return { ...fromProcess(p, 'eps', 'ddim', 50), grid: (n) => df.ddpmSigmas(p, Math.min(n, p.T)), cScale: 1 / 1000 };
    }
    case 'vp':
      return fromProcess(df.vpLinear(), 'eps', 'dpmpp-2m', 30);
    case 'vp-cosine':
      return fromProcess(df.vpCosine(), 'v', 'dpmpp-2m', 30);
    case 'subvp':
      return fromProcess(df.subVp(), 'eps', 'dpmpp-2m', 30);
    case 've':
      return fromProcess(df.ve(), 'eps', 'heun', 40);
    case 'ncsn': {
      // the network sees ¼·ln σ; the VE process spans the levels so the denoiser can evaluate any of them
      const levels = df.geometricSigmas(16, NCSN_MAX, NCSN_MIN);
      const logSigma = (net: Net): Net => (x, c) => tidy(() => net(x, mul(log(c), 0.25)));
      const p = df.ve({ sigmaMin: NCSN_MIN, sigmaMax: NCSN_MAX });
      return {
        loss: (net, x, key) => df.ncsnLoss(logSigma(net), x, { sigmas: levels, key }),
        denoiser: (net) => df.denoiserFromPrediction(logSigma(net), p, 'score', { condition: (_t, sigma) => sigma }),
        grid: (n) => [...df.geometricSigmas(Math.max(2, n), NCSN_MAX, NCSN_MIN), 0],
        cScale: 1,
        defaultSampler: 'langevin',
        defaultSteps: 10,
      };
    }
    case 'flow-matching':
    case 'rectified-flow':
      return {
        loss: (net, x, key) => df.flowMatchingLoss(net, x, { key }),
        denoiser: (net) => df.denoiserFromPrediction(net, df.flowMatching(), 'velocity'),
        // σ-space samplers start just short of pure noise (t = 0.995, σ = 199)
        grid: (n) => df.flowSigmas(n, { tMax: 0.995 }),
        cScale: 1,
        defaultSampler: model === 'rectified-flow' ? 'flow-euler' : 'flow-heun',
        defaultSteps: model === 'rectified-flow' ? 20 : 10,
        flow: true,
      };
    default:
      throw new Error(`unknown diffusion model '${model}'`);
  }
}

/** Teacher steps of reflow: flow Heun on 16 uniform steps from t = 1 (32 network evaluations per batch). */
const REFLOW_STEPS = 16;

/**
 * The flow of another run, loaded to make reflow couplings (Liu et al.
 * 2209.03003 §2.2): x₀ = ODE(x₁) for fresh noise x₁, the pair then trained
 * on with flowMatchingLoss(net, x₀, { x1 }).
 */
function reflowTeacher(cfg: GenConfig): Denoiser {
  const dir = cfg.reflowFrom!;
  const t = readRunConfig(dir);
  if (t.kind !== 'diffusion' || (t.model !== 'flow-matching' && t.model !== 'rectified-flow')) {
    throw new Error(`--reflow-from ${dir}: reflow needs a flow-matching or rectified-flow run, but that run is a ${t.kind} '${t.model}' run`);
  }
  if (t.data !== cfg.data) throw new Error(`--reflow-from ${dir}: that run learned '${t.data}' but this one is on '${cfg.data}'; use --data ${t.data}`);
  const teacher = buildDiffusion(t, [0, 0]);
  loadRunCheckpoint(dir, teacher, t);
  return spec(t.model).denoiser((teacher.module as df.TimeMlp).net);
}

export function buildDiffusion(cfg: GenConfig, key: Key): GenModel {
  const s = spec(cfg.model);
  if (cfg.reflowFrom !== undefined) {
    const teacher = reflowTeacher(cfg);
    s.loss = (net, x, k) =>
      tidy(() => {
        const { x0, x1 } = df.reflowCouplings(teacher, normal(k, x.shape), { sigmas: df.flowSigmas(REFLOW_STEPS) });
        return df.flowMatchingLoss(net, x0, { key: foldIn(k, 1), x1 });
      });
  }
  const dim = genData(cfg.data).dim;
  const net = new df.TimeMlp(dim, { key, hidden: cfg.hidden, cScale: s.cScale });
  const denoiser = s.denoiser(net.net);
  const samplers = [s.defaultSampler, ...Object.keys(DIFFUSION_SAMPLERS).filter((n) => n !== s.defaultSampler)];
  const sample = (k: Key, n: number, sampler: string, steps: number, opts: { trajectory?: boolean } = {}): SampleOutput => {
    const run = DIFFUSION_SAMPLERS[sampler]!;
    const flowPath = s.flow && sampler.startsWith('flow-');
    const sigmas = flowPath ? df.flowSigmas(steps) : s.grid(steps);
    const [kx, ks] = splitKey(k);
    const x = sigmas[0] === Infinity ? normal(kx!, [n, dim]) : df.initialNoise(kx!, [n, dim], sigmas[0]!);
    try {
      const res = run(denoiser, x, sigmas, { key: ks!, trajectory: opts.trajectory });
      let frames: Float64Array[] | undefined;
      if (res.trajectory) {
        // σ-space states grow with σ; show them as VP states x/√(1 + σ²) (flow samplers already hold xₜ)
        const scaleOf = (i: number): number => (sampler.startsWith('flow-') || res.trajectory!.length !== sigmas.length ? 1 : 1 / Math.sqrt(1 + sigmas[i]! ** 2));
        frames = thinFrames(res.trajectory.map((t, i) => t.toF64().map((v) => v * scaleOf(i))));
        for (const t of res.trajectory) if (t !== res.x) t.dispose();
      }
      return { x: res.x, frames, nfe: res.nfe };
    } finally {
      x.dispose();
    }
  };
  return {
    module: net,
    loss: (x, k) => s.loss(net.net, x, k),
    samplers,
    defaultSteps: s.defaultSteps,
    sample,
    describe: `${cfg.model}${cfg.reflowFrom ? ` reflowed from ${cfg.reflowFrom}` : ''} (TimeMlp ${dim}→${cfg.hidden.join('→')}→${dim})`,
  };
}
