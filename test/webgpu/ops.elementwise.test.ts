/** The op suite on WebGPU: the elementwise group (see suite.ts). */
import { runGpuSuite } from './suite.js';

await runGpuSuite('elementwise');
