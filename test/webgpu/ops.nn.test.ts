/** The op suite on WebGPU: the nn group (see suite.ts). */
import { runGpuSuite } from './suite.js';

await runGpuSuite('nn');
