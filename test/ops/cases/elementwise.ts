/** Op cases for the elementwise family. */
import * as nb from '../../../src/index.js';
import type { OpCase } from '../../helpers/check.js';
import { erf as erfRef } from '../../../src/core/special.js';

const S = [3, 4];
const unary = (op: string, fn: (x: nb.Tensor) => nb.Tensor, f: (x: number) => number, range: [number, number] = [-2, 2], extra: Partial<OpCase> = {}): OpCase => ({
  op,
  inputs: [{ shape: S, range }],
  fn,
  ref: (x) => x.map(f),
  secondOrder: true,
  ...extra,
});

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

export const elementwiseCases: OpCase[] = [
  unary('neg', nb.neg, (x) => -x),
  unary('abs', nb.abs, Math.abs),
  unary('sign', nb.sign, Math.sign, [-2, 2], { secondOrder: false }),
  unary('square', nb.square, (x) => x * x),
  unary('reciprocal', nb.reciprocal, (x) => 1 / x, [0.5, 2]),
  unary('exp', nb.exp, Math.exp),
  unary('expm1', nb.expm1, Math.expm1),
  unary('log', nb.log, Math.log, [0.2, 3]),
  unary('log1p', nb.log1p, Math.log1p, [-0.5, 3]),
  unary('sqrt', nb.sqrt, Math.sqrt, [0.2, 3]),
  unary('rsqrt', nb.rsqrt, (x) => 1 / Math.sqrt(x), [0.2, 3]),
  unary('sin', nb.sin, Math.sin),
  unary('cos', nb.cos, Math.cos),
  unary('tan', nb.tan, Math.tan, [-1, 1]),
  unary('atan', nb.atan, Math.atan),
  unary('tanh', nb.tanh, Math.tanh),
  unary('sigmoid', nb.sigmoid, sig),
  unary('softplus', (x) => nb.softplus(x, 1.5), (x) => Math.log1p(Math.exp(1.5 * x)) / 1.5),
  unary('relu', nb.relu, (x) => Math.max(x, 0)),
  unary('gelu', (x) => nb.gelu(x, 'tanh'), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
  unary('geluErf', (x) => nb.gelu(x), (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2))),
  unary('silu', nb.silu, (x) => x * sig(x)),
  unary('elu', (x) => nb.elu(x, 0.7), (x) => (x > 0 ? x : 0.7 * Math.expm1(x))),
  unary('erf', nb.erf, erfRef),
  unary('floor', nb.floor, Math.floor, [-3, 3], { secondOrder: false }),
  unary('ceil', nb.ceil, Math.ceil, [-3, 3], { secondOrder: false }),
  unary('round', nb.round, Math.round, [-3, 3], { secondOrder: false }),
  unary('trunc', nb.trunc, Math.trunc, [-3, 3], { secondOrder: false }),
  unary('clamp', (x) => nb.clamp(x, -0.5, 0.8), (x) => Math.min(Math.max(x, -0.5), 0.8)),
  unary('logicalNot', (x) => nb.logicalNot(nb.gt(x, 0)), (x) => (x > 0 ? 0 : 1), [-2, 2], { noGrad: true }),
  unary('isnan', (x) => nb.isnan(nb.log(x)), (x) => (Number.isNaN(Math.log(x)) ? 1 : 0), [-2, 2], { noGrad: true }),
  unary('isfinite', (x) => nb.isfinite(nb.log(nb.abs(x))), () => 1, [0.1, 2], { noGrad: true }),
  ...(
    [
      ['add', nb.add, (a: number, b: number) => a + b],
      ['sub', nb.sub, (a: number, b: number) => a - b],
      ['mul', nb.mul, (a: number, b: number) => a * b],
      ['div', nb.div, (a: number, b: number) => a / b],
      ['maximum', nb.maximum, Math.max],
      ['minimum', nb.minimum, Math.min],
      ['atan2', nb.atan2, Math.atan2],
    ] as const
  ).flatMap(([op, fn, f]): OpCase[] => [
    { op, inputs: [{ shape: S }, { shape: S, range: [0.5, 2] }], fn: (a, b) => fn(a!, b!), ref: (a, b) => a.map((v, i) => f(v, b[i]!)), secondOrder: true },
    // broadcasting both ways: [3,1] with [4]
    {
      op,
      label: 'broadcast',
      inputs: [{ shape: [3, 1] }, { shape: [4], range: [0.5, 2] }],
      fn: (a, b) => fn(a!, b!),
      ref: (a, b) => Array.from({ length: 12 }, (_, k) => f(a[Math.floor(k / 4)]!, b[k % 4]!)),
    },
  ]),
  { op: 'pow', inputs: [{ shape: S, range: [0.3, 2] }, { shape: [4], range: [-1.5, 2.5] }], fn: (a, b) => nb.pow(a!, b!), secondOrder: true },
  ...(['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const).map(
    (op): OpCase => ({
      op,
      inputs: [{ shape: S, range: [0, 3], dtype: 'i32' }, { shape: [4], range: [0, 3], dtype: 'i32' }],
      fn: (a, b) => nb[op](a!, b!),
      noGrad: true,
      dtypes: [],
    }),
  ),
  ...(['logicalAnd', 'logicalOr', 'logicalXor'] as const).map(
    (op): OpCase => ({
      op,
      inputs: [{ shape: S, dtype: 'bool' }, { shape: S, dtype: 'bool' }],
      fn: (a, b) => nb[op](a!, b!),
      ref: (a, b) => a.map((v, i) => (op === 'logicalAnd' ? v && b[i]! : op === 'logicalOr' ? v || b[i]! : (v ? 1 : 0) ^ (b[i] ? 1 : 0)) ? 1 : 0),
      noGrad: true,
      dtypes: [],
    }),
  ),
  {
    op: 'where',
    inputs: [{ shape: [3, 1], dtype: 'bool' }, { shape: S }, { shape: [4] }],
    fn: (c, a, b) => nb.where(c!, a!, b!),
    ref: (c, a, b) => Array.from({ length: 12 }, (_, k) => (c[Math.floor(k / 4)] ? a[k]! : b[k % 4]!)),
    secondOrder: true,
  },
  { op: 'astype', label: 'f64→f32→f64 rounds', inputs: [{ shape: S }], fn: (x) => nb.astype(nb.astype(x!, 'f32'), 'f64'), ref: (x) => x.map(Math.fround), dtypes: [], noGrad: true },
  { op: 'astype', label: 'gradient passes through', inputs: [{ shape: S }], fn: (x) => nb.mul(nb.astype(x!, 'f32'), x!), dtypes: [], fdTol: 0.05 /* f32 rounding inside the function limits finite differences */ },
  { op: 'astype', label: 'to i32 truncates', inputs: [{ shape: S, range: [-3, 3] }], fn: (x) => nb.astype(x!, 'i32'), ref: (x) => x.map(Math.trunc), noGrad: true, dtypes: [] },
];
