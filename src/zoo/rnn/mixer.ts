/**
 * Recurrent networks as token mixers (zoo/mixer.ts): 'lstm', 'gru' and 'rnn'
 * are causal (one direction, hidden size d, any number of layers) and decode
 * one token at a time by carrying (h, c); 'bilstm' and 'bigru' are
 * bidirectional encoders (d/2 per direction, concatenated back to d) that
 * read the key padding mask as sequence lengths, and have no step.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { zeros } from '../../ops/creation.js';
import { slice } from '../../ops/slice.js';
import { unsqueeze } from '../../ops/views.js';
import { Module } from '../../nn/module.js';
import { checkPositiveInt } from '../../nn/util.js';
import { registerMixer, type Mixer, type MixerForwardOptions } from '../mixer.js';
import { TensorState } from '../ssm/state.js';
import { GRU, LSTM, RNN, type RnnBase } from './rnn.js';

export interface RnnMixerOptions {
  key: Key;
  numLayers?: number;
  dropout?: number;
  dtype?: DType;
  /** 'rnn' only */
  nonlinearity?: 'tanh' | 'relu';
}

export type RnnMixerState = TensorState<'h' | 'c'>;

type Kind = 'lstm' | 'gru' | 'rnn';

function makeRnn(kind: Kind, inSize: number, hidden: number, opts: RnnMixerOptions, bidirectional: boolean): RnnBase {
  const o = { key: opts.key, numLayers: opts.numLayers, dropout: opts.dropout, dtype: opts.dtype, bidirectional, batchFirst: true };
  if (kind === 'lstm') return new LSTM(inSize, hidden, o);
  if (kind === 'gru') return new GRU(inSize, hidden, o);
  return new RNN(inSize, hidden, { ...o, nonlinearity: opts.nonlinearity });
}

/** Lengths from a right-padded key padding mask (b, n): the count of leading trues; any other pattern is an error. */
export function lengthsFromPadding(op: string, padding: Tensor): number[] {
  const [b, n] = padding.shape as [number, number];
  const v = padding.toF64();
  return Array.from({ length: b }, (_, j) => {
    let len = 0;
    while (len < n && v[j * n + len]) len++;
    for (let t = len; t < n; t++) if (v[j * n + t]) throw new Error(`${op}: padding row ${j} has a real token at ${t} after padding at ${len}; only right padding is supported`);
    return len;
  });
}

/** A causal recurrent mixer: (b, n, d) → (b, n, d), hidden size d. */
export class RnnMixer extends Module implements Mixer<RnnMixerState> {
  readonly causal = true;
  readonly kind: Kind;
  rnn: RnnBase;

  constructor(kind: Kind, dModel: number, opts: RnnMixerOptions) {
    super();
    checkPositiveInt('RnnMixer', 'dModel', dModel);
    this.kind = kind;
    this.rnn = makeRnn(kind, dModel, dModel, opts, false);
  }

  get dModel(): number {
    return this.rnn.config.hiddenSize;
  }

  /** Causal: right padding never reaches real positions, so `padding` is not needed. */
  forward(x: Tensor, opts: MixerForwardOptions = {}): Tensor {
    const r = this.rnn.forward(x, { key: opts.key });
    r.h.dispose();
    r.c?.dispose();
    return r.output;
  }

  initState(batch: number): RnnMixerState {
    const shape = [this.rnn.config.numLayers, batch, this.dModel];
    const dtype = this.rnn.weight('weight_hh', 0)!.dtype;
    return new TensorState({ h: zeros(shape, { dtype }), c: zeros(this.kind === 'lstm' ? shape : [0], { dtype }) });
  }

  step(x: Tensor, state: RnnMixerState): [Tensor, RnnMixerState] {
    if (x.ndim !== 2 || x.shape[1] !== this.dModel) throw new Error(`RnnMixer.step: x must be (b, ${this.dModel}), got ${shapeStr(x.shape)}`);
    const r = tidy(() => {
      const out = this.rnn.forward(unsqueeze(x, 1), { h0: state.get('h'), c0: this.kind === 'lstm' ? state.get('c') : null });
      return { y: slice(out.output, [null, 0]), h: out.h, c: out.c ?? zeros([0], { dtype: x.dtype }) };
    });
    const next = new TensorState({ h: r.h, c: r.c }, state.position + 1);
    state.dispose();
    return [r.y, next];
  }
}

/** A bidirectional recurrent encoder: (b, n, d) → (b, n, d), d/2 per direction; padding gives lengths. */
export class BiRnnMixer extends Module implements Mixer<RnnMixerState> {
  readonly causal = false;
  rnn: RnnBase;

  constructor(kind: 'lstm' | 'gru', dModel: number, opts: RnnMixerOptions) {
    super();
    checkPositiveInt('BiRnnMixer', 'dModel', dModel);
    if (dModel % 2 !== 0) throw new Error(`BiRnnMixer: dModel must be even (d/2 per direction), got ${dModel}`);
    this.rnn = makeRnn(kind, dModel, dModel / 2, opts, true);
  }

  get dModel(): number {
    return this.rnn.config.inputSize;
  }

  forward(x: Tensor, opts: MixerForwardOptions = {}): Tensor {
    const lengths = opts.padding ? lengthsFromPadding('BiRnnMixer', opts.padding) : null;
    const r = this.rnn.forward(x, { key: opts.key, lengths });
    r.h.dispose();
    r.c?.dispose();
    return r.output;
  }

  initState(): RnnMixerState {
    throw new Error('BiRnnMixer: a bidirectional encoder reads the whole sequence; it has no decoding state (use lstm or gru)');
  }

  step(): [Tensor, RnnMixerState] {
    throw new Error('BiRnnMixer: a bidirectional encoder reads the whole sequence; it cannot decode step by step (use lstm or gru)');
  }
}

for (const kind of ['lstm', 'gru', 'rnn'] as const) {
  registerMixer(kind, (dModel, spec, key) => new RnnMixer(kind, dModel, { ...(spec as Partial<RnnMixerOptions>), key }));
}
registerMixer('bilstm', (dModel, spec, key) => new BiRnnMixer('lstm', dModel, { ...(spec as Partial<RnnMixerOptions>), key }));
registerMixer('bigru', (dModel, spec, key) => new BiRnnMixer('gru', dModel, { ...(spec as Partial<RnnMixerOptions>), key }));
