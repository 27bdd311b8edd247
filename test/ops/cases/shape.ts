/** Op cases for views and reductions. */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';

export const shapeCases: OpCase[] = [
  { op: 'identity', inputs: [{ shape: [2, 3] }], fn: (x) => nb.identity(x!), ref: (x) => x, secondOrder: true },
  { op: 'copy', inputs: [{ shape: [2, 3] }], fn: (x) => nb.copy(x!), ref: (x) => x },
  { op: 'reshape', inputs: [{ shape: [2, 3, 2] }], fn: (x) => nb.reshape(x!, [3, -1]), ref: (x) => x },
  { op: 'expand', inputs: [{ shape: [3, 1] }], fn: (x) => nb.broadcastTo(x!, [2, 3, 4]), ref: (x) => Array.from({ length: 24 }, (_, k) => x[Math.floor((k % 12) / 4)]!) },
  { op: 'sum', inputs: [{ shape: [2, 3, 4] }], fn: (x) => nb.sum(x!, [0, 2]), ref: (x) => [0, 1, 2].map((j) => { let s = 0; for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) s += x[i * 12 + j * 4 + k]!; return s; }), secondOrder: true },
  { op: 'sum', label: 'all, keepdim', inputs: [{ shape: [2, 3] }], fn: (x) => nb.sum(x!, undefined, true), ref: (x) => [x.reduce((a, b) => a + b, 0)] },
];
