/** The op suite on WebGPU: the linalg group (see suite.ts). */
import { runGpuSuite } from './suite.js';

await runGpuSuite('linalg');
