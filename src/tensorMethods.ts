/**
 * Method-style access to ops (x.add(y).exp()), attached to Tensor's prototype
 * here so that core/ stays free of op imports.
 */
import { Tensor } from './core/tensor.js';
import * as ops from './ops/index.js';
import { backward, type BackwardOptions } from './autodiff/backward.js';
import type { TensorLike } from './ops/broadcast.js';
import type { DType } from './core/dtype.js';

declare module './core/tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    square(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    sum(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    max(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    min(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    prod(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    /** variance (unbiased by default: correction 1) */
    var(axes?: number | readonly number[], opts?: ops.VarianceOptions): Tensor;
    std(axes?: number | readonly number[], opts?: ops.VarianceOptions): Tensor;
    logsumexp(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    norm(p?: number, axes?: number | readonly number[], keepdim?: boolean): Tensor;
    argmax(axis?: number | null, keepdim?: boolean): Tensor;
    argmin(axis?: number | null, keepdim?: boolean): Tensor;
    all(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    any(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    cumsum(axis: number, opts?: ops.ScanOptions): Tensor;
    cumprod(axis: number, opts?: ops.ScanOptions): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    matmul(b: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    permute(axes: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    /** the matrix transpose of the last two axes (a vector or scalar is returned as is, like torch's t()) */
    t(): Tensor;
    slice(specs: readonly ops.SliceSpec[]): Tensor;
    squeeze(axes?: number | readonly number[]): Tensor;
    unsqueeze(axis: number | readonly number[]): Tensor;
    flip(axes?: number | readonly number[]): Tensor;
    gather(axis: number, index: Tensor): Tensor;
    astype(dtype: DType): Tensor;
    backward(cotangent?: Tensor, opts?: BackwardOptions): void;
  }
}

const P = Tensor.prototype;
P.add = function (b) {
  return ops.add(this, b);
};
P.sub = function (b) {
  return ops.sub(this, b);
};
P.mul = function (b) {
  return ops.mul(this, b);
};
P.div = function (b) {
  return ops.div(this, b);
};
P.pow = function (b) {
  return ops.pow(this, b);
};
P.neg = function () {
  return ops.neg(this);
};
P.abs = function () {
  return ops.abs(this);
};
P.exp = function () {
  return ops.exp(this);
};
P.log = function () {
  return ops.log(this);
};
P.sqrt = function () {
  return ops.sqrt(this);
};
P.square = function () {
  return ops.square(this);
};
P.tanh = function () {
  return ops.tanh(this);
};
P.sigmoid = function () {
  return ops.sigmoid(this);
};
P.relu = function () {
  return ops.relu(this);
};
P.sum = function (axes, keepdim) {
  return ops.sum(this, axes, keepdim);
};
P.max = function (axes, keepdim) {
  return ops.max(this, axes, keepdim);
};
P.min = function (axes, keepdim) {
  return ops.min(this, axes, keepdim);
};
P.prod = function (axes, keepdim) {
  return ops.prod(this, axes, keepdim);
};
P.mean = function (axes, keepdim) {
  return ops.mean(this, axes, keepdim);
};
P.var = function (axes, opts) {
  return ops.variance(this, axes, opts);
};
P.std = function (axes, opts) {
  return ops.std(this, axes, opts);
};
P.logsumexp = function (axes, keepdim) {
  return ops.logsumexp(this, axes, keepdim);
};
P.norm = function (p, axes, keepdim) {
  return ops.norm(this, p, axes, keepdim);
};
P.argmax = function (axis, keepdim) {
  return ops.argmax(this, axis, keepdim);
};
P.argmin = function (axis, keepdim) {
  return ops.argmin(this, axis, keepdim);
};
P.all = function (axes, keepdim) {
  return ops.all(this, axes, keepdim);
};
P.any = function (axes, keepdim) {
  return ops.any(this, axes, keepdim);
};
P.cumsum = function (axis, opts) {
  return ops.cumsum(this, axis, opts);
};
P.cumprod = function (axis, opts) {
  return ops.cumprod(this, axis, opts);
};
P.softmax = function (axis) {
  return ops.softmax(this, axis);
};
P.logSoftmax = function (axis) {
  return ops.logSoftmax(this, axis);
};
P.matmul = function (b) {
  return ops.matmul(this, b);
};
P.reshape = function (shape) {
  return ops.reshape(this, shape);
};
P.broadcastTo = function (shape) {
  return ops.broadcastTo(this, shape);
};
P.permute = function (axes) {
  return ops.permute(this, axes);
};
P.transpose = function (a, b) {
  return ops.transpose(this, a, b);
};
P.t = function () {
  return this.ndim < 2 ? ops.identity(this) : ops.transpose(this);
};
P.slice = function (specs) {
  return ops.slice(this, specs);
};
P.squeeze = function (axes) {
  return ops.squeeze(this, axes);
};
P.unsqueeze = function (axis) {
  return ops.unsqueeze(this, axis);
};
P.flip = function (axes) {
  return ops.flip(this, axes);
};
P.gather = function (axis, index) {
  return ops.gather(this, axis, index);
};
P.astype = function (dtype) {
  return ops.astype(this, dtype);
};
P.backward = function (cotangent, opts) {
  backward(this, cotangent, opts);
};
