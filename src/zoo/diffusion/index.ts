/**
 * Diffusion models and flow matching in one parameterisation (Karras et al.,
 * arXiv 2206.00364): processes, prediction conversions, denoisers, training
 * objectives, samplers, likelihoods and reflow. See docs/diffusion.md.
 */
export { vpLinear, vpCosine, subVp, ve, edm, flowMatching, sigmaMin, sigmaMax, type Process, type Coefficients, type LinearBetaOptions, type CosineOptions, type VeOptions, type EdmOptions } from './process.js';
export { ddpm, ddpmBetas, type DdpmProcess, type DdpmOptions } from './ddpmProcess.js';
export { toX0Eps, fromX0Eps, convertPrediction, noised, PREDICTIONS, type Prediction, type PredictionCoefficients, type Coef } from './predictions.js';
export { denoiserFromPrediction, edmPrecondition, edmCoefficients, countCalls, perExample, conditioning, type Denoiser, type Net, type EdmPrecond, type FromPredictionOptions } from './denoiser.js';
export { gaussianDenoiser, gaussianLogDensity, gmmDenoiser, gmmLogDensity, gmmResponsibilities, gmmDensity, isotropicGaussian, isotropicLogDensity, spdInverse } from './analytic.js';
export { karrasSigmas, processSigmas, ddpmSigmas, geometricSigmas, flowSigmas, type KarrasOptions } from './schedules.js';
export * from './samplers/index.js';
export { logLikelihood, jacobianTrace, drawProbe, bitsPerDim, type LikelihoodOptions, type LikelihoodResult, type TraceMethod, type Probe } from './likelihood.js';
export { uniformTime, discreteTime, logNormalSigma, logitNormal, importanceWeights, type TimeSampler } from './timesteps.js';
export { diffusionLoss, flowMatchingLoss, ncsnLoss, edmLoss, type DiffusionLossOptions, type FlowMatchingLossOptions, type NcsnLossOptions, type EdmLossOptions } from './losses.js';
export { TimeMlp, type TimeMlpOptions } from './nets/mlp.js';
export { groupNorm, GroupNorm, TimeEmbedding, SelfAttention2d } from './nets/blocks.js';
export { UNet, ResBlock, type UNetOptions } from './nets/unet.js';
export { DiT, DiTBlock, type DiTOptions } from './nets/dit.js';
export { fit, type FitOptions, type FitResult } from './train.js';
export { reflowCouplings, straightness, type CouplingOptions } from './reflow.js';
