/**
 * Normalising flows: invertible layers with exact log-determinants (NICE,
 * Real NVP, Glow), the models built from them, and continuous normalising
 * flows (FFJORD). See docs/flows.md for the measured results.
 */
export { FlowLayer, FlowSequence, sumPerExample, spatialSize, type FlowContext } from './layer.js';
export { alternatingMasks, makeMask, maskValues, type MaskKind, type MaskSpec } from './masks.js';
export { MLPConditioner, ConvConditioner, type Conditioner, type ConditionerOptions } from './conditioner.js';
export { AdditiveCoupling, AffineCoupling, type ScaleKind } from './coupling.js';
export { ActNorm, Scaling, type ActNormOptions } from './actnorm.js';
export { InvertibleConv1x1, InvertibleConv1x1LU, channelMix, luDecompose, type InvConvOptions } from './invconv.js';
export { Reverse, Permutation } from './reorder.js';
export { Squeeze, Split, squeeze2x2, unsqueeze2x2, gaussianLogProb, type SplitOptions } from './multiscale.js';
export { standardNormal, standardLogistic, priorByName, type Prior, type PriorName } from './priors.js';
export { uniformDequantize, VariationalDequantizer, bitsPerDim, type Dequantized } from './dequantize.js';
export { Flow, type FlowOptions, type Encoded } from './flow.js';
export { nice, realNVP, glow, type FlowModelOptions, type RealNVPOptions, type GlowOptions } from './models.js';
export { exactDivergence, hutchinsonDivergence, hutchinsonProbe, type TraceMethod, type ProbeKind } from './trace.js';
export { CNF, ODENet, ConcatSquashLinear, type CNFOptions, type VectorField } from './cnf.js';
export { fitDensity, evalNll, type DensityModel, type FitOptions } from './fit.js';
