/** Every op family. */
export * from './creation.js';
export * from './elementwise.js';
export * from './views.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './random.js';
export type { TensorLike } from './broadcast.js';
