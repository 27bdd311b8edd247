/**
 * The normalising flows of `nabla train flow`, trained by maximum likelihood
 * (−mean log p(x), exact):
 *
 * - nice, realnvp, glow: coupling flows (src/zoo/flows/models.ts) with
 *   `layers` couplings / steps of flow. Sampling is the exact inverse
 *   x = f⁻¹(z), z ~ p_Z (sampler 'inverse'); the trajectory picture shows z
 *   after each inverted layer.
 * - ffjord: a continuous normalising flow (Grathwohl et al., arXiv
 *   1810.01367) on a concat-squash ODENet, exact divergence in 2-D, trained
 *   with `layers` RK4 steps. Its samplers are the ODE solvers (euler, heun,
 *   rk4, dopri5) at the step count asked for; the trajectory is the state at
 *   every step.
 *
 * Both have an exact log-density, drawn as the heat map.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { add } from '../../ops/elementwise.js';
import { foldIn, normal } from '../../ops/random.js';
import { noGrad } from '../../autodiff/tape.js';
import { namedModules, parameters } from '../../nn/module.js';
import * as fl from '../../zoo/flows/index.js';
import { odeint, type OdeMethod } from '../../zoo/ode/index.js';
import type { GenConfig } from './config.js';
import { genData } from './data.js';
import { thinFrames, type GenModel, type SampleOutput } from './model.js';

const ODE_SAMPLERS: readonly OdeMethod[] = ['rk4', 'euler', 'heun', 'dopri5'];

function buildCnf(cfg: GenConfig, key: Key, dim: number): GenModel {
  // the exact divergence costs d backward passes: beyond 2-D, Hutchinson's one-probe estimate (FFJORD §3.1)
  const trace = dim <= 2 ? 'exact' : 'hutchinson';
  const cnf = new fl.CNF(dim, new fl.ODENet(dim, cfg.hidden, { key }), { trace, method: 'rk4', steps: cfg.layers });
  const sample = (k: Key, n: number, sampler: string, steps: number, opts: { trajectory?: boolean } = {}): SampleOutput =>
    noGrad(() => {
      const method = sampler as OdeMethod;
      let x = normal(k, [n, dim]);
      const frames: Float64Array[] = opts.trajectory ? [x.toF64()] : [];
      const f = (t: number, [z]: readonly Tensor[]): Tensor[] => [cnf.net.forward(z!, t)];
      let nfe = 0;
      if (method === 'dopri5' && !opts.trajectory) {
        const sol = odeint(f, [x], 0, 1, { method, rtol: 1e-5, atol: 1e-5 });
        x.dispose();
        return { x: sol.y[0]!, nfe: sol.nfe };
      }
      // one interval per step so that every step's state can be drawn
      for (let i = 0; i < steps; i++) {
        const sol = odeint(f, [x], i / steps, (i + 1) / steps, method === 'dopri5' ? { method, rtol: 1e-5, atol: 1e-5 } : { method, steps: 1 });
        nfe += sol.nfe;
        x.dispose();
        x = sol.y[0]!;
        if (opts.trajectory) frames.push(x.toF64());
      }
      return { x, nfe, frames: opts.trajectory ? thinFrames(frames) : undefined };
    });
  return {
    module: cnf,
    loss: (x, k) => cnf.nll(x, k),
    samplers: ODE_SAMPLERS,
    defaultSteps: cfg.layers,
    sample,
    logDensity: dim === 2 ? (x) => noGrad(() => cnf.logProb(x)) : undefined,
    describe: `ffjord (CNF, ODENet ${dim}→${cfg.hidden.join('→')}→${dim}, ${trace} trace, RK4 × ${cfg.layers} in training)`,
  };
}

/** Every ActNorm of a module: after loading weights their data-dependent init must not run again. */
function markInitialized(flow: fl.Flow): void {
  for (const [, m] of namedModules(flow)) if (m instanceof fl.ActNorm) m.initialized = true;
}

export function buildFlow(cfg: GenConfig, key: Key): GenModel {
  const dim = genData(cfg.data).dim;
  if (cfg.model === 'ffjord') return buildCnf(cfg, key, dim);
  const base = { key, eventShape: [dim], hidden: cfg.hidden };
  const flow =
    cfg.model === 'nice' ? fl.nice({ ...base, couplings: cfg.layers }) : cfg.model === 'glow' ? fl.glow({ ...base, steps: cfg.layers }) : fl.realNVP({ ...base, couplings: cfg.layers });
  const sample = (k: Key, n: number, _sampler: string, _steps: number, opts: { trajectory?: boolean } = {}): SampleOutput =>
    noGrad(() => {
      if (!opts.trajectory) return { x: flow.sample(k, n), nfe: 1 };
      // invert layer by layer from the prior sample, keeping each state (vector flows have no Split layers)
      // the same draw as Flow.sample: the prior at foldIn(key, 0)
      const z = fl.priorByName(flow.config.prior).sample(foldIn(k, 0), [n, dim], { dtype: parameters(flow)[0]?.dtype });
      const frames = [z.toF64()];
      let h = z;
      const layers = flow.body.layers;
      for (let i = layers.length - 1; i >= 0; i--) {
        const next = layers[i]!.inverse(h);
        if (h !== z) h.dispose();
        h = next;
        frames.push(h.toF64());
      }
      if (h === z) h = tidy(() => add(z, 0));
      z.dispose();
      return { x: h, frames: thinFrames(frames), nfe: 1 };
    });
  return {
    module: flow,
    loss: (x) => flow.nll(x),
    init: (x) => flow.initialize(x),
    afterLoad: () => markInitialized(flow),
    samplers: ['inverse'],
    defaultSteps: 0,
    sample,
    logDensity: dim === 2 ? (x) => noGrad(() => flow.logProb(x)) : undefined,
    describe: `${cfg.model} (${cfg.layers} ${cfg.model === 'glow' ? 'steps of flow' : 'couplings'}, MLP conditioners ${cfg.hidden.join('→')})`,
  };
}
