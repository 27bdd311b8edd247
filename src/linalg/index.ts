/**
 * Float64 reference kernels for dense linear algebra and FFTs on plain
 * row-major `Float64Array`s, one matrix (or vector) per call.
 */
export { lu, luSolve, slogdet, det, inverse, solve } from './lu.js';
export type { LuResult } from './lu.js';
export { triangularSolve } from './triangular.js';
export type { TriangularSolveOptions } from './triangular.js';
export { cholesky, choleskySolve } from './cholesky.js';
export { qr } from './qr.js';
export type { QrResult } from './qr.js';
export { eigh } from './eigh.js';
export type { EighResult } from './eigh.js';
export { svd, randomizedSvd } from './svd.js';
export type { SvdResult, SvdOptions, RandomizedSvdOptions } from './svd.js';
export { fft, rfft, irfft } from './fft.js';
export type { ComplexArrays } from './fft.js';
export { matmulF64, transposeF64, identityF64, frobeniusNormF64 } from './util.js';
