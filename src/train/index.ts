/** Training systems: mixed precision, loss scaling, gradient checkpointing, the step and loop helpers, checkpoints and exact resume. */
export { autocast, withAutocast, autocastPrecision, castClassOf, CAST_CLASSES, type Precision, type CastClass } from './autocast.js';
export { dynamicLossScale, type LossScaler, type LossScaleConfig, type LossScaleState, type GradSet } from './lossScale.js';
export { checkpoint, checkpointSequential, collectParams, segmentBounds, type SegmentFn, type SequentialLayer, type CheckpointSequentialOptions, type ParamTree } from './checkpoint.js';
export { trainStep, type TrainStepOptions, type TrainStepResult } from './step.js';
export { trainStepAsync } from './stepAsync.js';
export { trainLoop, formatProgress, type TrainLoopOptions, type TrainLoopResult, type Progress, type LogEntry, type EvalEntry, type StopInfo, type StepOutput } from './loop.js';
export { saveTrainingState, loadTrainingState, type TrainingState, type ResumeTarget, type ResumedState } from './state.js';
export { saveCheckpoint, loadCheckpoint, listCheckpoints, assignWeights, type CheckpointContents, type LoadedCheckpoint } from './checkpointFile.js';
