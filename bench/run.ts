/**
 * Benchmarks of nabla against the libraries a user would pick instead, side
 * by side in one run: `npm run bench` runs every family, prints a table per
 * family with medians, spreads and nabla/peer ratios, writes JSON to
 * bench/results/ and replaces the generated section of docs/benchmarks.md.
 *
 *   npm run bench                       every family, every peer found
 *   npm run bench:quick                 tiny sizes, no peers (what CI runs)
 *   npm run bench -- --family sgemm     one family (also: npx tsx bench/sgemm.ts)
 *   npm run bench:peers                 install the peers first (PyTorch, TensorFlow.js, onnxruntime)
 *
 * Options are the driver's (bench/driver.ts); the timing rule is the
 * harness's (bench/harness.ts); peers run in child processes (bench/peers/).
 */
import { runFamilies } from './driver.js';
import { attentionFamily } from './attention.js';
import { elementwiseFamily } from './elementwise.js';
import { gptFamily } from './gpt.js';
import { sgemmFamily } from './sgemm.js';
import { ssmFamily } from './ssm.js';
import { threadsFamily } from './threads.js';

export const FAMILIES = [sgemmFamily, threadsFamily, elementwiseFamily, gptFamily, ssmFamily, attentionFamily];

await runFamilies(FAMILIES);
