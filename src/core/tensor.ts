/**
 * The Tensor handle: a strided view (shape, strides, offset, dtype) on a
 * reference-counted storage, plus its place on the autodiff tape.
 *
 * Handles are cheap; storage is shared between views and freed when the last
 * handle (or tape entry) holding it lets go. Tensors are immutable as far as
 * autodiff is concerned: ops return new tensors.
 */
import type { DType } from './dtype.js';
import { isFloat } from './dtype.js';
import { contiguousStrides, shapeStr, sizeOf, type Shape } from './shape.js';
import type { Storage, TypedArray, View } from '../backends/backend.js';
import { currentScope, registry, type Scope } from './memory.js';
import type { Node } from '../autodiff/tape.js';

let nextId = 1;

interface Held {
  storage: Storage;
  node: Node | null;
}

function releaseStorage(s: Storage): void {
  if (--s.refs === 0) s.backend.free(s);
}

/** Backstop: a handle collected without dispose() still returns its storage. */
const finalizer = new FinalizationRegistry<Held>((h) => {
  registry.liveTensors--;
  releaseStorage(h.storage);
  h.node?.release();
});

export interface TensorInit {
  storage: Storage;
  shape: Shape;
  dtype: DType;
  strides?: readonly number[];
  offset?: number;
  /** internal handles (held by the tape) are not tracked by scopes */
  internal?: boolean;
}

export class Tensor implements View {
  readonly id = nextId++;
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** the tape entry that produced this tensor (null for leaves and constants) */
  node: Node | null = null;
  /** which output of `node` this is */
  outIndex = 0;
  /** for alias handles of a leaf: the leaf whose `.grad` receives gradients */
  leaf: Tensor | null = null;
  private _requiresGrad = false;
  /** accumulated gradient (leaves), set by backward() */
  grad: Tensor | null = null;
  /** forward-mode tangents by jvp level */
  tangents: Map<number, Tensor> | null = null;
  /** optional name shown in errors and checkpoints */
  name: string | undefined;
  disposed = false;
  scope: Scope | undefined = undefined;
  private held: Held;

  constructor(init: TensorInit) {
    const { storage, shape, dtype } = init;
    this.storage = storage;
    this.shape = shape.slice();
    this.strides = init.strides ? init.strides.slice() : contiguousStrides(shape);
    this.offset = init.offset ?? 0;
    this.dtype = dtype;
    storage.refs++;
    registry.liveTensors++;
    this.held = { storage, node: null };
    finalizer.register(this, this.held, this);
    if (!init.internal) currentScope()?.add(this);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get backend(): string {
    return this.storage.backend.name;
  }

  /** Attach this handle to a tape entry (takes a reference on the node). */
  setNode(node: Node, outIndex: number, counted = true): void {
    this.node = node;
    this.outIndex = outIndex;
    if (counted) {
      node.retain();
      this.held.node = node;
    }
  }

  /** Whether gradients flow to this tensor. */
  get requiresGrad(): boolean {
    return this.node !== null || (this.leaf ?? this)._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (this.node !== null) throw new Error(`requiresGrad: can only be set on a leaf tensor; this one was produced by '${this.node.op.name}' (use detach())`);
    if (v && !isFloat(this.dtype)) throw new Error(`requiresGrad: only floating tensors can require gradients, this one is ${this.dtype}`);
    this._requiresGrad = v;
  }
  /** Mark as a leaf that receives gradients; returns this (chainable). */
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }

  assertAlive(op: string, arg = 'input'): void {
    if (this.disposed) throw new Error(`${op}: ${arg} ${this.describe()} was disposed`);
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${this.dtype}${shapeStr(this.shape)}`;
  }

  /** A new handle on the same data with no autodiff history (stop-gradient). */
  detach(): Tensor {
    this.assertAlive('detach');
    return new Tensor({ storage: this.storage, shape: this.shape, strides: this.strides, offset: this.offset, dtype: this.dtype });
  }

  /** Free this handle now. Storage is freed once no view or tape entry holds it. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    finalizer.unregister(this);
    registry.liveTensors--;
    this.scope?.delete(this);
    releaseStorage(this.storage);
    this.held.node?.release();
    this.held.node = null;
    if (this.grad && this.leaf === null) {
      this.grad.dispose();
      this.grad = null;
    }
    if (this.tangents) {
      for (const t of this.tangents.values()) t.dispose();
      this.tangents = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Contiguous copy of the values as a typed array of the dtype (f16/bf16 decode to Float32Array). */
  async data(): Promise<TypedArray> {
    this.assertAlive('data');
    return this.storage.backend.read(this);
  }

  /** Synchronous read (CPU backend). */
  dataSync(): TypedArray {
    this.assertAlive('dataSync');
    const b = this.storage.backend;
    if (!b.readSync) throw new Error(`dataSync: the ${b.name} backend reads asynchronously; use await t.data()`);
    return b.readSync(this);
  }

  /** Values as float64, contiguous (CPU backend). */
  toF64(): Float64Array {
    this.assertAlive('toF64');
    return this.storage.backend.readF64Sync(this);
  }

  /** Nested JS arrays (numbers; booleans for bool). */
  toArray(): unknown {
    const flat = this.toF64();
    const isBool = this.dtype === 'bool';
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return isBool ? flat[off] !== 0 : flat[off];
      const n = this.shape[dim]!;
      const step = sizeOf(this.shape.slice(dim + 1));
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, off + i * step);
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    this.assertAlive('item');
    if (this.size !== 1) throw new Error(`item: tensor ${this.describe()} has ${this.size} elements, expected 1`);
    return this.toF64()[0]!;
  }

  toString(): string {
    if (this.disposed) return `Tensor(disposed ${this.describe()})`;
    const body = this.size <= 64 ? JSON.stringify(this.toArray()) : `…${this.size} values`;
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''}) ${body}`;
  }
}
