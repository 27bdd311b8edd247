import type { Kernel } from '../../../backend.js';
import type { CpuBackend } from '../../index.js';
export const ROW_KERNELS: Readonly<Record<string, (be: CpuBackend) => Kernel>> = {};
