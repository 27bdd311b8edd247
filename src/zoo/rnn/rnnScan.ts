/**
 * The fused recurrence of an RNN, LSTM or GRU layer: one op for the whole
 * sequence (`rnnScan`) and one for its backpropagation through time
 * (`rnnScanBackward`), instead of a dozen op dispatches per time step.
 * Per-step dispatch is what makes recurrent nets in JavaScript slow; here
 * the whole loop runs inside one kernel (backends/cpu/wasm/rnnLoops.ts,
 * float64 reference and float32 on the heap with sgemm), like cuDNN's RNN
 * kernels: the forward saves the gate activations and cell states, the
 * backward walks the sequence in reverse and forms dW_hh with one product.
 *
 * Inputs: xp (L, b, G·H), the input projections x·W_ihᵀ + b_ih (one large
 * product, done by the layer); W_hh (G·H, H); b_hh (G·H) optional; h0 (b, H);
 * c0 (b, H) for LSTM; a mask (L, b) of 0/1 optional (where 0, the state is
 * carried unchanged). Outputs: hs (L, b, H), h_L, c_L (LSTM), and the saved
 * gates (and cell states) for the backward op.
 *
 * Gradients of gradients and forward mode differentiate the naive twin
 * (cells.ref.ts) instead, as the selective scan does.
 */
import { Tensor } from '../../core/tensor.js';
import { isFloat } from '../../core/dtype.js';
import { shapeStr, shapesEqual } from '../../core/shape.js';
import { tidy } from '../../core/memory.js';
import { defineOp, type Meta } from '../../ops/registry.js';
import { apply } from '../../ops/apply.js';
import { add, mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { zerosLike } from '../../ops/creation.js';
import { isGradEnabled, jvpState } from '../../autodiff/tape.js';
import { valueAndGrad } from '../../autodiff/backward.js';
import { jvp } from '../../autodiff/forward.js';
import { cpu } from '../../backends/cpu/index.js';
import { rnnBackwardKernel, rnnForwardKernel } from '../../backends/cpu/wasm/rnnNative.js';
import { gateCount, loopGemm, rnnBackward, rnnForward, savedCount, type RnnGrads, type RnnMode } from '../../backends/cpu/wasm/rnnLoops.js';
import { rnnScanRef } from './cells.ref.js';

export interface RnnAttrs {
  mode: RnnMode;
  hasBias: boolean;
  hasMask: boolean;
}

interface Named<T> {
  xp: T;
  whh: T;
  bhh: T | null;
  h0: T;
  c0: T | null;
  mask: T | null;
}

function unpack<T>(xs: readonly T[], a: RnnAttrs): Named<T> {
  let k = 0;
  const next = (present: boolean): T | null => (present ? xs[k++]! : null);
  return { xp: next(true)!, whh: next(true)!, bhh: next(a.hasBias), h0: next(true)!, c0: next(a.mode === 'lstm'), mask: next(a.hasMask) };
}

const inputCount = (a: RnnAttrs): number => 3 + (a.hasBias ? 1 : 0) + (a.mode === 'lstm' ? 1 : 0) + (a.hasMask ? 1 : 0);

function check(ins: readonly Meta[], a: RnnAttrs): { L: number; b: number; H: number } {
  const op = 'rnnScan';
  const x = unpack(ins, a);
  if (x.xp.shape.length !== 3) throw new Error(`${op}: xp must be (L, b, G·H), got ${shapeStr(x.xp.shape)}`);
  const [L, b, GH] = x.xp.shape as [number, number, number];
  const G = gateCount(a.mode);
  if (GH % G !== 0) throw new Error(`${op}: xp ${shapeStr(x.xp.shape)} must have ${G}·H features for ${a.mode}`);
  const H = GH / G;
  if (L < 1) throw new Error(`${op}: xp ${shapeStr(x.xp.shape)} has an empty sequence`);
  const want: [string, Meta | null, number[]][] = [['whh', x.whh, [GH, H]], ['bhh', x.bhh, [GH]], ['h0', x.h0, [b, H]], ['c0', x.c0, [b, H]], ['mask', x.mask, [L, b]]];
  for (const [name, m, s] of want) {
    if (!m) continue;
    if (!shapesEqual(m.shape, s)) throw new Error(`${op}: ${name} must be ${shapeStr(s)} for xp ${shapeStr(x.xp.shape)} (${a.mode}, H = ${H}), got ${shapeStr(m.shape)}`);
    if (!isFloat(m.dtype) || m.dtype !== x.xp.dtype) throw new Error(`${op}: ${name} is ${m.dtype} but xp is ${x.xp.dtype}; use one floating dtype`);
  }
  return { L, b, H };
}

function twin(xs: readonly Tensor[], a: RnnAttrs): Tensor[] {
  const x = unpack(xs, a);
  const [hs, h, c] = rnnScanRef(a.mode, x.xp, { whh: x.whh, bhh: x.bhh }, x.h0, x.c0, x.mask);
  return c ? [hs, h, c] : [hs, h];
}

export const rnnScanOp = defineOp<RnnAttrs>({
  name: 'rnnScan',
  infer: (ins, a) => {
    const { L, b, H } = check(ins, a);
    const dtype = ins[0]!.dtype;
    const S = savedCount(a.mode);
    const st = { shape: [b, H], dtype };
    const seq = { shape: [L, b, H], dtype };
    const gates = { shape: [L, b, S * H], dtype };
    return a.mode === 'lstm' ? [seq, st, st, gates, seq] : [seq, st, gates];
  },
  ref: (xs, ins, a, outs) => {
    const { L, b, H } = check(ins, a);
    const ys = outs.map((o) => new Float64Array(o.shape.reduce((p, q) => p * q, 1)));
    const lstm = a.mode === 'lstm';
    const out = lstm ? { hs: ys[0]!, hN: ys[1]!, cN: ys[2]!, gates: ys[3]!, cs: ys[4]! } : { hs: ys[0]!, hN: ys[1]!, cN: null, gates: ys[2]!, cs: null };
    rnnForward(a.mode, { L, b, H }, unpack(xs, a), out, new Float64Array(b * gateCount(a.mode) * H), loopGemm);
    return ys;
  },
  vjp: (ctx, cts) => {
    const a = ctx.attrs;
    const xs = ctx.inputs;
    const lstm = a.mode === 'lstm';
    const nOut = lstm ? 3 : 2;
    if (isGradEnabled() || jvpState.active.length > 0) {
      // higher order or forward-over-reverse: differentiate the twin
      const f = (...ys: Tensor[]): Tensor => {
        const outs = twin(ys, a);
        const terms = outs.map((o, k) => (cts[k] ? sum(mul(o, cts[k]!)) : null)).filter((t): t is Tensor => t !== null);
        return terms.length ? terms.reduce((p, q) => add(p, q)) : sum(mul(outs[0]!, 0));
      };
      const [v, grads] = valueAndGrad(f)(...xs);
      v.dispose();
      return grads.map((g, i) => (a.hasMask && i === xs.length - 1 ? null : g));
    }
    const outs = ctx.outputs;
    const cot = Array.from({ length: nOut }, (_, k) => cts[k] ?? zerosLike(outs[k]!));
    const saved = lstm ? [outs[0]!, outs[3]!, outs[4]!] : [outs[0]!, outs[2]!];
    const grads = apply(rnnScanBackwardOp, [...xs, ...saved, ...cot], a);
    return a.hasMask ? [...grads, null] : grads;
  },
  jvp: (ctx, ts) => {
    const zs = ctx.inputs.map((x, i) => ts[i] ?? zerosLike(x));
    const [, touts] = jvp((...ys: Tensor[]) => twin(ys, ctx.attrs), [...ctx.inputs], zs);
    return ctx.attrs.mode === 'lstm' ? [touts[0]!, touts[1]!, touts[2]!, null, null] : [touts[0]!, touts[1]!, null];
  },
  saveOutputs: true,
});

/** Inputs [...rnnScan inputs, hs, gates, cs?, dhs, dh_L, dc_L?] → [dxp, dW_hh, db_hh?, dh0, dc0?]. */
export const rnnScanBackwardOp = defineOp<RnnAttrs>({
  name: 'rnnScanBackward',
  infer: (ins, a) => {
    const n = inputCount(a);
    check(ins.slice(0, n), a);
    const x = unpack(ins.slice(0, n), a);
    return [x.xp, x.whh, x.bhh, x.h0, x.c0].filter((m): m is Meta => m !== null).map((m) => ({ shape: m.shape, dtype: m.dtype }));
  },
  ref: (xs, ins, a) => {
    const n = inputCount(a);
    const { L, b, H } = check(ins.slice(0, n), a);
    const x = unpack(xs.slice(0, n), a);
    const lstm = a.mode === 'lstm';
    let k = n;
    const hs = xs[k++]!;
    const gates = xs[k++]!;
    const cs = lstm ? xs[k++]! : null;
    const [dhs, dhN] = [xs[k++]!, xs[k++]!];
    const dcN = lstm ? xs[k++]! : null;
    const GH = gateCount(a.mode) * H;
    const g: RnnGrads = {
      dxp: new Float64Array(L * b * GH), dwhh: new Float64Array(GH * H), dbhh: a.hasBias ? new Float64Array(GH) : null,
      dh0: new Float64Array(b * H), dc0: lstm ? new Float64Array(b * H) : null,
    };
    const dgh = a.mode === 'gru' ? new Float64Array(L * b * GH) : g.dxp;
    rnnBackward(a.mode, { L, b, H }, x, { hs, gates, cs }, dhs, dhN, dcN, g, dgh, new Float64Array(b * H), loopGemm);
    return [g.dxp, g.dwhh, g.dbhh, g.dh0, g.dc0].filter((v) => v !== null) as Float64Array[];
  },
  vjp: () => {
    throw new Error('rnnScanBackward: not differentiable; rnnScan differentiates its twin when a gradient graph is requested');
  },
  jvp: () => {
    throw new Error('rnnScanBackward: no forward mode; rnnScan differentiates its twin under jvp');
  },
});

cpu().kernels.set('rnnScan', rnnForwardKernel(cpu()));
cpu().kernels.set('rnnScanBackward', rnnBackwardKernel(cpu()));

export interface RnnScanInputs {
  xp: Tensor;
  whh: Tensor;
  bhh?: Tensor | null;
  h0: Tensor;
  c0?: Tensor | null;
  mask?: Tensor | null;
}

/** The fused recurrence: [hs (L, b, H), h_L (b, H), c_L (b, H) for LSTM else null]. */
export function rnnScan(mode: RnnMode, x: RnnScanInputs): [Tensor, Tensor, Tensor | null] {
  if (!['lstm', 'gru', 'rnn_tanh', 'rnn_relu'].includes(mode)) throw new Error(`rnnScan: mode must be 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu', got ${String(mode)}`);
  for (const [name, v] of [['xp', x.xp], ['whh', x.whh], ['h0', x.h0]] as const) {
    if (!(v instanceof Tensor)) throw new Error(`rnnScan: ${name} must be a Tensor, got ${v === null ? 'null' : typeof v}`);
  }
  if (mode === 'lstm' && !x.c0) throw new Error('rnnScan: lstm needs c0');
  const a: RnnAttrs = { mode, hasBias: !!x.bhh, hasMask: !!x.mask };
  const ins = [x.xp, x.whh, ...(x.bhh ? [x.bhh] : []), x.h0, ...(mode === 'lstm' ? [x.c0!] : []), ...(x.mask ? [x.mask] : [])];
  return tidy(() => {
    const outs = apply(rnnScanOp, ins, a);
    return [outs[0]!, outs[1]!, mode === 'lstm' ? outs[2]! : null];
  });
}
