/**
 * The table of every primitive op, by name. Backends key their native kernels
 * by these names, and the coverage report and the op test-suite are generated
 * from it.
 */
import type { OpDef } from './registry.js';
import { unaryOps, binaryOps, whereOp, astypeOp } from './elementwise.js';
import { identityOp, copyOp, reshapeOp, expandOp, permuteOp, squeezeOp, unsqueezeOp, flipOp } from './views.js';
import { sliceOp, sliceGradOp, diagonalOp, diagonalGradOp } from './slice.js';
import { concatOp, padOp, trilOp, triuOp } from './join.js';
import { gatherOp, scatterOp, scatterAddOp, indexSelectOp, indexAddOp } from './indexing.js';
import { sumOp, maxOp, minOp, prodOp, argmaxOp, argminOp, allOp, anyOp } from './reduce.js';
import { cumsumOp, cumprodOp, cummaxOp, cumminOp, linearRecurrenceOp, shiftAxisOp } from './cumulative.js';
import { maxPool1dOp } from './pool.js';
import { convOp, convBackpropInputOp, convBackpropFilterOp } from './conv.js';
import { matmulOp } from './matmul.js';
import { solveOp, triangularSolveOp, slogdetOp } from './linalg.js';
import { choleskyOp, qrOp, eighOp } from './decompositions.js';
import { svdOp, randomizedSvdOp } from './svd.js';
import { fftOp, rfftOp, irfftOp } from './fft.js';
import { softmaxLastOp, softmaxLastGradOp, logSoftmaxLastOp, layerNormFusedOp, layerNormGradOp, rmsNormFusedOp, rmsNormGradOp } from './fused.js';
import { geluGradOp, geluErfGradOp, siluGradOp } from './activationGrad.js';

export const OPS = {
  ...unaryOps,
  ...binaryOps,
  where: whereOp,
  astype: astypeOp,
  identity: identityOp,
  copy: copyOp,
  reshape: reshapeOp,
  expand: expandOp,
  permute: permuteOp,
  squeeze: squeezeOp,
  unsqueeze: unsqueezeOp,
  flip: flipOp,
  slice: sliceOp,
  sliceGrad: sliceGradOp,
  diagonal: diagonalOp,
  diagonalGrad: diagonalGradOp,
  concat: concatOp,
  pad: padOp,
  tril: trilOp,
  triu: triuOp,
  gather: gatherOp,
  scatter: scatterOp,
  scatterAdd: scatterAddOp,
  indexSelect: indexSelectOp,
  indexAdd: indexAddOp,
  sum: sumOp,
  max: maxOp,
  min: minOp,
  prod: prodOp,
  argmax: argmaxOp,
  argmin: argminOp,
  all: allOp,
  any: anyOp,
  cumsum: cumsumOp,
  cumprod: cumprodOp,
  cummax: cummaxOp,
  cummin: cumminOp,
  linearRecurrence: linearRecurrenceOp,
  shiftAxis: shiftAxisOp,
  maxPool1d: maxPool1dOp,
  conv: convOp,
  convBackpropInput: convBackpropInputOp,
  convBackpropFilter: convBackpropFilterOp,
  matmul: matmulOp,
  solve: solveOp,
  triangularSolve: triangularSolveOp,
  slogdet: slogdetOp,
  cholesky: choleskyOp,
  qr: qrOp,
  eigh: eighOp,
  svd: svdOp,
  randomizedSvd: randomizedSvdOp,
  fft: fftOp,
  rfft: rfftOp,
  irfft: irfftOp,
  softmaxLast: softmaxLastOp,
  logSoftmaxLast: logSoftmaxLastOp,
  softmaxLastGrad: softmaxLastGradOp,
  layerNormFused: layerNormFusedOp,
  layerNormGrad: layerNormGradOp,
  rmsNormFused: rmsNormFusedOp,
  rmsNormGrad: rmsNormGradOp,
  geluGrad: geluGradOp,
  geluErfGrad: geluErfGradOp,
  siluGrad: siluGradOp,
} satisfies Record<string, OpDef<never>>;

export type OpName = keyof typeof OPS;
