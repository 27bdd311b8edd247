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
