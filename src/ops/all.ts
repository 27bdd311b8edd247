/**
 * The table of every primitive op, by name. Backends key their native kernels
 * by these names, and the coverage report and the op test-suite are generated
 * from it.
 */
import type { OpDef } from './registry.js';
import { unaryOps, binaryOps, whereOp, astypeOp } from './elementwise.js';
import { identityOp, copyOp, reshapeOp, expandOp, permuteOp, squeezeOp, unsqueezeOp, flipOp } from './views.js';
import { sliceOp, sliceGradOp } from './slice.js';
import { concatOp, padOp, trilOp, triuOp } from './join.js';
import { gatherOp, scatterOp, scatterAddOp, indexSelectOp, indexAddOp } from './indexing.js';
import { sumOp } from './reduce.js';
import { matmulOp } from './matmul.js';

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
  matmul: matmulOp,
} satisfies Record<string, OpDef<never>>;

export type OpName = keyof typeof OPS;
