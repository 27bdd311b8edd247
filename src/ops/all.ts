/**
 * The table of every primitive op, by name. Backends key their native kernels
 * by these names, and the coverage report and the op test-suite are generated
 * from it.
 */
import type { OpDef } from './registry.js';
import { unaryOps, binaryOps, whereOp, astypeOp } from './elementwise.js';
import { identityOp, copyOp, reshapeOp, expandOp } from './views.js';
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
  sum: sumOp,
  matmul: matmulOp,
} satisfies Record<string, OpDef<never>>;

export type OpName = keyof typeof OPS;
