/**
 * State-space models and linear recurrences, each registered as a token mixer
 * (zoo/mixer.ts) with a recurrent step for decoding:
 *
 *   mamba    the Mamba block (selective scan S6, fused kernel)       Gu & Dao, arXiv 2312.00752
 *   mamba2   the Mamba-2 block (SSD, chunked)                       Dao & Gu, arXiv 2405.21060
 *   s4d      the S4D layer + GELU + GLU output (FFT convolution)    Gu et al., arXiv 2206.11893
 *   s4       the S4 layer (DPLR HiPPO-LegS, Cauchy kernel) + GLU    Gu, Goel & Ré, arXiv 2111.00396
 *   retnet   multi-scale retention (chunkwise)                      Sun et al., arXiv 2307.08621
 *   lru      the Linear Recurrent Unit (complex parallel scan)      Orvieto et al., arXiv 2303.06349
 *
 * and the pieces: the selective scan (fused op, naive twin, parallel form),
 * associative scans, SSD forms, retention forms, HiPPO matrices,
 * discretisations and online memory, FFT convolution.
 */
export { selectiveScan, selectiveScanOp, selectiveScanBackwardOp, SCAN_CHUNK, type FusedScanOptions } from './selectiveScan.js';
export { selectiveScanRef, stepSizes, type SelectiveScanInputs, type SelectiveScanOptions } from './selectiveScan.ref.js';
export { associativeScan, complexAssociativeScan, selectiveScanParallel } from './parallelScan.js';
export { Mamba, dtBiasInit, type MambaOptions, type MambaState } from './mamba.js';
export { ssdChunked, ssdQuadratic, ssdRecurrent, type SsdInputs } from './ssd.js';
export { Mamba2, type Mamba2Options, type Mamba2State } from './mamba2.js';
export { S4D, s4dImag, type S4DOptions, type S4DState, type S4DInit } from './s4d.js';
export { S4, type S4Options, type S4State } from './s4.js';
export { s4StepMatrices, type S4Channel, type S4StepMatrices, type CMat } from './s4Step.js';
export { nplrLegS, eighJacobi, type Nplr } from './nplr.js';
export { S4DBlock } from './s4dBlock.js';
export { fftConv } from './fftConv.js';
export { directConv } from './fftConv.ref.js';
export { cmul, cdiv, cexp, cadd, cscale, type Complex } from './complex.js';
export { retentionParallel, retentionRecurrent, retentionChunkwise, retentionGammas, splitHeads } from './retention.js';
export { MultiScaleRetention, type RetNetOptions, type RetNetState } from './retnet.js';
export { LRU, lruLoop, type LruOptions, type LruState } from './lru.js';
export { hippo, discretize, legendre, laguerre, hippoBasis, hippoReconstruct, type HippoMeasure, type Discretization, type HippoMatrices, type Discrete } from './hippo.js';
export { HippoMemory, type HippoMemoryOptions } from './hippoMemory.js';
export { expm, solveN } from './matrixF64.js';
export { TensorState } from './state.js';
