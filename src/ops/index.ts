/** Every op family. */
export * from './creation.js';
export * from './elementwise.js';
export * from './views.js';
export * from './slice.js';
export * from './join.js';
export * from './indexing.js';
export * from './reduce.js';
export * from './stats.js';
export * from './cumulative.js';
export * from './nn.js';
export * from './pool.js';
export * from './matmul.js';
export * from './einsum.js';
export * from './linalg.js';
export * from './decompositions.js';
export * from './svd.js';
export * from './random.js';
export type { TensorLike } from './broadcast.js';
