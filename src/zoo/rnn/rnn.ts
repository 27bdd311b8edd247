/**
 * Multi-layer, optionally bidirectional RNN, LSTM and GRU layers with
 * PyTorch's nn.RNN / nn.LSTM / nn.GRU parameter layout, so state dicts move
 * both ways: per layer k and direction, `weight_ih_l{k}` (G·H, in),
 * `weight_hh_l{k}` (G·H, H), `bias_ih_l{k}`, `bias_hh_l{k}` (G·H), with the
 * suffix `_reverse` for the backward direction, in PyTorch's order; gates
 * stacked as i, f, g, o (LSTM) and r, z, n (GRU); init U(±1/√H) for all.
 *
 * Each layer and direction is one input projection (a single matmul over
 * the whole sequence) and one fused recurrence (rnnScan.ts). Dropout applies
 * to the outputs of every layer but the last, in training mode, with the
 * mask drawn in the input's layout (key folded with the layer index). Variable
 * lengths follow packed-sequence semantics: past its length a sequence's
 * state stands still, its outputs are zero, its final state is the one at its
 * last real token, and the backward direction starts from that token.
 *
 * Layout: batchFirst (default true, nabla's convention) takes (b, L, in);
 * false takes (L, b, in) like PyTorch's default. States are
 * (numLayers·directions, b, H) either way, as in PyTorch.
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import type { Key } from '../../core/random.js';
import { shapeStr, shapesEqual } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { mul } from '../../ops/elementwise.js';
import { concat, stack } from '../../ops/join.js';
import { slice } from '../../ops/slice.js';
import { gather } from '../../ops/indexing.js';
import { tensor, zeros } from '../../ops/creation.js';
import { flip, transpose, unsqueeze } from '../../ops/views.js';
import { foldIn, splitKey, uniform } from '../../ops/random.js';
import { Module, param } from '../../nn/module.js';
import { linear } from '../../nn/linear.js';
import { dropout } from '../../nn/dropout.js';
import { checkFloatTensor, checkPositiveInt } from '../../nn/util.js';
import { gateCount, type RnnMode } from '../../backends/cpu/wasm/rnnLoops.js';
import { rnnScan } from './rnnScan.js';

export interface RnnOptions {
  key: Key;
  numLayers?: number;
  /** b_ih and b_hh (default true) */
  bias?: boolean;
  /** (b, L, in) when true (default), (L, b, in) when false */
  batchFirst?: boolean;
  /** dropout on the outputs of every layer but the last (default 0) */
  dropout?: number;
  bidirectional?: boolean;
  dtype?: DType;
}

export interface RnnForwardOptions {
  /** (numLayers·directions, b, H), default zeros */
  h0?: Tensor | null;
  /** LSTM: (numLayers·directions, b, H), default zeros */
  c0?: Tensor | null;
  /** the real length of each sequence (b); the rest is padding (a length of 0 leaves the initial state as the final one) */
  lengths?: readonly number[] | null;
  /** PRNG key for dropout in training mode */
  key?: Key;
}

export interface RnnResult {
  /** (b, L, directions·H) (or (L, b, …) without batchFirst); zero past each length */
  output: Tensor;
  /** final hidden states (numLayers·directions, b, H) */
  h: Tensor;
  /** LSTM: final cell states (numLayers·directions, b, H); else null */
  c: Tensor | null;
}

export interface RnnConfig {
  mode: RnnMode;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  dropout: number;
  bidirectional: boolean;
}

/** Time-major index that reverses each sequence within its length (padding stays at the end). */
function reverseIndex(L: number, lengths: readonly number[]): Int32Array {
  const b = lengths.length;
  const idx = new Int32Array(L * b);
  for (let t = 0; t < L; t++) for (let j = 0; j < b; j++) idx[t * b + j] = t < lengths[j]! ? lengths[j]! - 1 - t : t;
  return idx;
}

export abstract class RnnBase extends Module {
  readonly config: Readonly<RnnConfig>;

  protected constructor(mode: RnnMode, inputSize: number, hiddenSize: number, opts: RnnOptions) {
    super();
    const name = mode === 'lstm' ? 'LSTM' : mode === 'gru' ? 'GRU' : 'RNN';
    checkPositiveInt(name, 'inputSize', inputSize);
    checkPositiveInt(name, 'hiddenSize', hiddenSize);
    const numLayers = checkPositiveInt(name, 'numLayers', opts.numLayers ?? 1);
    const p = opts.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`${name}: dropout must be in [0, 1), got ${String(p)}`);
    this.config = { mode, inputSize, hiddenSize, numLayers, bias: opts.bias ?? true, batchFirst: opts.batchFirst ?? true, dropout: p, bidirectional: opts.bidirectional ?? false };
    const GH = gateCount(mode) * hiddenSize;
    const bound = 1 / Math.sqrt(hiddenSize);
    const keys = splitKey(opts.key, numLayers * 2 * 4);
    let q = 0;
    const self = this as unknown as Record<string, Tensor>;
    for (let l = 0; l < numLayers; l++) {
      for (let dir = 0; dir < this.directions; dir++) {
        const inSize = l === 0 ? inputSize : hiddenSize * this.directions;
        const sfx = `_l${l}${dir ? '_reverse' : ''}`;
        const u = (shape: number[]): Tensor => param(uniform(keys[q++]!, shape, { lo: -bound, hi: bound, dtype: opts.dtype }));
        self[`weight_ih${sfx}`] = u([GH, inSize]);
        self[`weight_hh${sfx}`] = u([GH, hiddenSize]);
        if (this.config.bias) {
          self[`bias_ih${sfx}`] = u([GH]);
          self[`bias_hh${sfx}`] = u([GH]);
        } else q += 2;
      }
    }
  }

  get directions(): number {
    return this.config?.bidirectional ? 2 : 1;
  }

  /** The parameter `weight_ih`, `weight_hh`, `bias_ih` or `bias_hh` of a layer and direction (null for absent biases). */
  weight(kind: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh', layer: number, reverse = false): Tensor | null {
    return (this as unknown as Record<string, Tensor | undefined>)[`${kind}_l${layer}${reverse ? '_reverse' : ''}`] ?? null;
  }

  forward(x: Tensor, opts: RnnForwardOptions = {}): RnnResult {
    const c = this.config;
    const name = c.mode === 'lstm' ? 'LSTM' : c.mode === 'gru' ? 'GRU' : 'RNN';
    checkFloatTensor(name, 'x', x);
    if (x.ndim !== 3 || x.shape[2] !== c.inputSize) throw new Error(`${name}: x must be ${c.batchFirst ? '(b, L' : '(L, b'}, ${c.inputSize}), got ${shapeStr(x.shape)}`);
    const [L, b] = c.batchFirst ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
    const D = this.directions;
    const H = c.hiddenSize;
    const stateShape = [c.numLayers * D, b, H];
    for (const [nm, s] of [['h0', opts.h0], ['c0', opts.c0]] as const) {
      if (s && !shapesEqual(s.shape, stateShape)) throw new Error(`${name}: ${nm} must be ${shapeStr(stateShape)} (numLayers·directions, b, H), got ${shapeStr(s.shape)}`);
    }
    if (opts.c0 && c.mode !== 'lstm') throw new Error(`${name}: c0 is only for LSTM`);
    const lengths = opts.lengths ?? null;
    if (lengths && (lengths.length !== b || lengths.some((n) => !Number.isInteger(n) || n < 0 || n > L))) {
      throw new Error(`${name}: lengths must be ${b} integers in 0..${L}, got ${JSON.stringify(lengths)}`);
    }
    const useDropout = this.training && c.dropout > 0 && c.numLayers > 1;
    if (useDropout && !opts.key) throw new Error(`${name}: dropout ${c.dropout} in training mode needs a PRNG key (pass { key }, or call nn.eval(model))`);
    return tidy(() => {
      let inp = c.batchFirst ? transpose(x, 0, 1) : x; // (L, b, in)
      const mask = lengths ? tensor(Array.from({ length: L * b }, (_, i) => (Math.floor(i / b) < lengths[i % b]! ? 1 : 0)), [L, b], { dtype: x.dtype }) : null;
      const rev = lengths ? tensor(reverseIndex(L, lengths), [L, b, 1], { dtype: 'i32' }) : null;
      const reverse = (t: Tensor): Tensor => (rev ? gather(t, 0, concat(new Array<Tensor>(t.shape[2]!).fill(rev), 2)) : flip(t, 0));
      const h0 = opts.h0 ?? zeros(stateShape, { dtype: x.dtype });
      const c0 = c.mode === 'lstm' ? (opts.c0 ?? zeros(stateShape, { dtype: x.dtype })) : null;
      const hs: Tensor[] = [];
      const cs: Tensor[] = [];
      for (let l = 0; l < c.numLayers; l++) {
        const outs: Tensor[] = [];
        for (let dir = 0; dir < D; dir++) {
          const k = l * D + dir;
          const src = dir ? reverse(inp) : inp;
          const xp = linear(src, this.weight('weight_ih', l, dir === 1)!, this.weight('bias_ih', l, dir === 1)); // (L, b, G·H)
          const [seq, hN, cN] = rnnScan(c.mode, {
            xp, whh: this.weight('weight_hh', l, dir === 1)!, bhh: this.weight('bias_hh', l, dir === 1),
            h0: slice(h0, [k]), c0: c0 ? slice(c0, [k]) : null, mask,
          });
          const out = dir ? reverse(seq) : seq;
          outs.push(mask ? mul(out, unsqueeze(mask, -1)) : out);
          hs.push(hN);
          if (cN) cs.push(cN);
        }
        inp = D === 1 ? outs[0]! : concat(outs, -1);
        if (useDropout && l < c.numLayers - 1) {
          // the mask is drawn in the caller's layout, so it does not depend on how layers run inside
          const k = foldIn(opts.key!, l);
          inp = c.batchFirst ? transpose(dropout(transpose(inp, 0, 1), c.dropout, k, { training: true }), 0, 1) : dropout(inp, c.dropout, k, { training: true });
        }
      }
      return { output: c.batchFirst ? transpose(inp, 0, 1) : inp, h: stack(hs), c: cs.length ? stack(cs) : null };
    });
  }
}

export interface RnnLayerOptions extends RnnOptions {
  /** RNN only: 'tanh' (default) or 'relu' */
  nonlinearity?: 'tanh' | 'relu';
}

/** nn.RNN: the Elman RNN h' = act(W_ih x + b_ih + W_hh h + b_hh). */
export class RNN extends RnnBase {
  constructor(inputSize: number, hiddenSize: number, opts: RnnLayerOptions) {
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNN: nonlinearity must be 'tanh' or 'relu', got ${String(nl)}`);
    super(nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', inputSize, hiddenSize, opts);
  }
}

/** nn.LSTM (gates i, f, g, o). */
export class LSTM extends RnnBase {
  constructor(inputSize: number, hiddenSize: number, opts: RnnOptions) {
    super('lstm', inputSize, hiddenSize, opts);
  }
}

/** nn.GRU (gates r, z, n; b_hn inside the reset product, as PyTorch and cuDNN). */
export class GRU extends RnnBase {
  constructor(inputSize: number, hiddenSize: number, opts: RnnOptions) {
    super('gru', inputSize, hiddenSize, opts);
  }
}

