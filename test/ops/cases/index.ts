/** All op cases, gathered for the suite and the coverage report. */
import type { OpCase } from '../../helpers/check.js';
import { elementwiseCases } from './elementwise.js';
import { shapeCases } from './shape.js';
import { viewCases } from './views.js';
import { indexingCases } from './indexing.js';
import { einsumCases, matmulCases } from './matmul.js';
import { linalgCases } from './linalg.js';
import { fftCases } from './fft.js';
import { reduceCases } from './reduce.js';
import { nnCases } from './nn.js';
import { convCases } from './conv.js';
import { fusedCases } from './fused.js';

export const allCases: OpCase[] = [...elementwiseCases, ...shapeCases, ...viewCases, ...indexingCases, ...matmulCases, ...einsumCases, ...linalgCases, ...fftCases, ...reduceCases, ...nnCases, ...convCases, ...fusedCases];

/** Ops whose checks live in a dedicated test file (with the reason), by op name → test file. */
export const coveredElsewhere: Record<string, string> = {};
