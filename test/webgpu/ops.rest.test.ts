/** The op suite on WebGPU: every case the other groups do not list (conv, fused, new families; see suite.ts). */
import { runGpuSuite } from './suite.js';

await runGpuSuite('rest');
