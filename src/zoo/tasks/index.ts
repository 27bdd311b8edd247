/**
 * Synthetic tasks that measure what a sequence model can learn (recall,
 * selective memory, induction, long-range memory), seeded and streaming:
 *
 *   mqar               multi-query associative recall (Zoology, arXiv 2312.04927)
 *   selective-copying  Mamba's selective copying (arXiv 2312.00752)
 *   induction-heads    Mamba's / Olsson et al.'s induction heads
 *   copying            the copying memory problem (Hochreiter & Schmidhuber; Arjovsky et al.)
 *   adding             the adding problem (same sources)
 */
export { IGNORE, taskRng, drawBatch, batches, distinct, weightedDistinct, type Task, type TokenTask, type RegressionTask, type TokenExample, type RegressionExample, type Batch, type TokenBatch, type RegressionBatch } from './task.js';
export { Mqar, mqarGapProbabilities, type MqarOptions } from './mqar.js';
export { SelectiveCopying, type SelectiveCopyingOptions } from './selectiveCopying.js';
export { InductionHeads, type InductionHeadsOptions } from './inductionHeads.js';
export { Copying, copyingBaseline, type CopyingOptions } from './copying.js';
export { Adding, ADDING_BASELINE_MSE } from './adding.js';
export { makeTask, taskNames, type TaskConfig } from './registry.js';
