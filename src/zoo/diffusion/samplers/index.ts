/** Every sampler, one function each with the shared signature (model, x, sigmas, opts) → { x, nfe, trajectory? }. */
export { checkSigmas, initialNoise, runSampler, type Sampler, type SamplerOptions, type SampleResult, type StepInfo } from './common.js';
export { sampleEuler, sampleHeun, sampleRk45, toD, type HeunOptions, type Rk45Options } from './ode.js';
export { sampleFlowEuler, sampleFlowHeun } from './flow.js';
export { sampleDpmSolverPP2M } from './dpmSolver.js';
export { sampleDdpm, sampleDdim, ddimInvert, type DdpmOptions as DdpmSamplerOptions, type DdimOptions } from './ddpm.js';
export { sampleEulerMaruyama, samplePredictorCorrector, sampleAnnealedLangevin, scoreOf, type PredictorCorrectorOptions, type AnnealedLangevinOptions } from './sde.js';
