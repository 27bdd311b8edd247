/**
 * Installs the elementwise, reduction, softmax, normalisation and conversion
 * kernels on a CPU backend (`registerFastKernels` in ../matmulKernel.ts calls
 * this next to the matmul kernel). Each kernel carries the dtypes it runs
 * natively (`dtypes`, read by `backendOps()`); it declines the others at run
 * time and the float64 reference kernel runs.
 */
import type { Kernel } from '../../../backend.js';
import type { DType } from '../../../../core/dtype.js';
import type { CpuBackend } from '../../index.js';
import { ELEMENTWISE_OPS, copyKernel, elementwiseKernel } from './ew.js';
import { ROW_KERNELS } from './rows.js';

const declare = (k: Kernel, dtypes: readonly DType[]): Kernel => Object.assign(k, { dtypes });

/** Register every kernel of this folder on `be` (ops without a kernel keep the reference). */
export function registerElementwiseKernels(be: CpuBackend): void {
  for (const [op, dtypes] of Object.entries(ELEMENTWISE_OPS)) be.kernels.set(op, declare(elementwiseKernel(be, op), dtypes));
  for (const [op, make] of Object.entries(ROW_KERNELS)) be.kernels.set(op, declare(make(be), ['f32']));
  be.kernels.set('copy', declare(copyKernel(be), ['f32']));
}
