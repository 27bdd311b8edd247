/**
 * The fused selective scan of Mamba (A. Gu, T. Dao, arXiv 2312.00752,
 * Algorithm 2; the hardware-aware scan of §3.3): one op for the whole
 * sequence, forward and backward, that never stores the state of every step.
 *
 *   hₜ = exp(Δₜ A) ⊙ hₜ₋₁ + Δₜ uₜ Bₜ,   yₜ = Cₜ·hₜ + D uₜ,   outₜ = yₜ·silu(zₜ)
 *
 * Two primitives: `selectiveScan` (outputs: out, the last state, and the
 * state entering every `chunk`-th step — the checkpoints its backward restarts
 * from, as the reference CUDA kernel saves one state per chunk) and
 * `selectiveScanBackward` (the gradients of u, Δ, A, B, C, D, z and Δ_bias,
 * recomputing the states chunk by chunk). Their float64 reference kernels are
 * the loops of selectiveScanLoops.ts; on float32 the CPU backend runs the
 * WebAssembly SIMD kernels of backends/cpu/wasm/scan*.ts.
 *
 * Gradients of gradients, and forward mode, go through the naive twin
 * (selectiveScan.ref.ts), which autodiff differentiates to any order: the
 * fused backward is used exactly when no higher-order graph is being built.
 * The parity test (test/ssm/selectiveScan.test.ts) holds the fused op equal
 * to the twin in values and in the gradients of every input.
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
import { scanBackwardKernel, scanForwardKernel } from '../../backends/cpu/wasm/scanNative.js';
import { scanBackwardLoops, scanForwardLoops, type ScanArrays, type ScanDims } from './selectiveScanLoops.js';
import { selectiveScanRef, type SelectiveScanInputs, type SelectiveScanOptions } from './selectiveScan.ref.js';

export interface ScanAttrs {
  softplus: boolean;
  hasD: boolean;
  hasZ: boolean;
  hasBias: boolean;
  /** checkpoint interval (steps) */
  chunk: number;
}

/** Default checkpoint interval: the states saved for backward are ⌈L/256⌉·d·N per sequence. */
export const SCAN_CHUNK = 256;

/** Named inputs from the op's positional list [u, Δ, A, B, C, D?, z?, bias?]. */
function unpack<T>(xs: readonly T[], a: ScanAttrs): { u: T; delta: T; A: T; B: T; C: T; D: T | null; z: T | null; bias: T | null } {
  let k = 5;
  const D = a.hasD ? xs[k++]! : null;
  const z = a.hasZ ? xs[k++]! : null;
  const bias = a.hasBias ? xs[k++]! : null;
  return { u: xs[0]!, delta: xs[1]!, A: xs[2]!, B: xs[3]!, C: xs[4]!, D, z, bias };
}

export function scanDims(ins: readonly Meta[], a: ScanAttrs): ScanDims {
  const [b, L, d] = ins[0]!.shape as [number, number, number];
  return { b, L, d, N: ins[2]!.shape[1]!, chunk: a.chunk };
}

/** Shape and dtype checks shared by the public function and the op's `infer`. */
function check(ins: readonly Meta[], a: ScanAttrs): ScanDims {
  const op = 'selectiveScan';
  const x = unpack(ins, a);
  const dt = x.u.dtype;
  const named: [string, Meta | null][] = [['u', x.u], ['delta', x.delta], ['A', x.A], ['B', x.B], ['C', x.C], ['D', x.D], ['z', x.z], ['deltaBias', x.bias]];
  for (const [name, m] of named) {
    if (!m) continue;
    if (!isFloat(m.dtype)) throw new Error(`${op}: ${name} must be floating, got ${m.dtype}${shapeStr(m.shape)}`);
    if (m.dtype !== dt) throw new Error(`${op}: ${name} is ${m.dtype} but u is ${dt}; cast them to one dtype`);
  }
  if (x.u.shape.length !== 3) throw new Error(`${op}: u must be (b, L, d), got ${shapeStr(x.u.shape)}`);
  const [b, L, d] = x.u.shape as [number, number, number];
  if (L < 1) throw new Error(`${op}: u ${shapeStr(x.u.shape)} has an empty sequence axis`);
  if (x.A.shape.length !== 2 || x.A.shape[0] !== d) throw new Error(`${op}: A must be (d, N) = (${d}, N) for u ${shapeStr(x.u.shape)}, got ${shapeStr(x.A.shape)}`);
  const N = x.A.shape[1]!;
  const want: [string, Meta | null, number[]][] = [
    ['delta', x.delta, [b, L, d]], ['B', x.B, [b, L, N]], ['C', x.C, [b, L, N]], ['D', x.D, [d]], ['z', x.z, [b, L, d]], ['deltaBias', x.bias, [d]],
  ];
  for (const [name, m, s] of want) {
    if (m && !shapesEqual(m.shape, s)) throw new Error(`${op}: ${name} must be ${shapeStr(s)} for u ${shapeStr(x.u.shape)} and A ${shapeStr(x.A.shape)}, got ${shapeStr(m.shape)}`);
  }
  if (!Number.isInteger(a.chunk) || a.chunk < 1) throw new Error(`${op}: chunk must be a positive integer, got ${a.chunk}`);
  return { b, L, d, N, chunk: a.chunk };
}

const asArrays = (xs: readonly Float64Array[], a: ScanAttrs): ScanArrays => unpack(xs, a);

/** The twin as a function of the op's positional inputs. */
function twin(xs: readonly Tensor[], a: ScanAttrs): [Tensor, Tensor] {
  const x = unpack(xs, a);
  return selectiveScanRef({ u: x.u, delta: x.delta, A: x.A, B: x.B, C: x.C, D: x.D, z: x.z, deltaBias: x.bias }, { deltaSoftplus: a.softplus });
}

/** VJP through the twin: differentiable again (grad of grad) and usable under forward mode. */
function twinVjp(xs: readonly Tensor[], a: ScanAttrs, g: Tensor | null, gl: Tensor | null): Tensor[] {
  const f = (...ys: Tensor[]): Tensor => {
    const [out, last] = twin(ys, a);
    const s1 = g ? sum(mul(out, g)) : null;
    const s2 = gl ? sum(mul(last, gl)) : null;
    return s1 && s2 ? add(s1, s2) : (s1 ?? s2 ?? sum(mul(out, 0)));
  };
  const [value, grads] = valueAndGrad(f)(...xs);
  value.dispose();
  return grads;
}

export const selectiveScanOp = defineOp<ScanAttrs>({
  name: 'selectiveScan',
  infer: (ins, a) => {
    const { b, L, d, N, chunk } = check(ins, a);
    const dtype = ins[0]!.dtype;
    return [{ shape: [b, L, d], dtype }, { shape: [b, d, N], dtype }, { shape: [b, Math.ceil(L / chunk), N, d], dtype }];
  },
  ref: (xs, ins, a) => scanForwardLoops(asArrays(xs, a), scanDims(ins, a), a.softplus),
  vjp: (ctx, [g, gl]) => {
    const xs = ctx.inputs;
    const a = ctx.attrs;
    // a graph of the gradient is wanted (grad of grad) or tangents are flowing: differentiate the twin
    if (isGradEnabled() || jvpState.active.length > 0) return twinVjp(xs, a, g ?? null, gl ?? null);
    const gOut = g ?? zerosLike(ctx.outputs[0]!);
    const gLast = gl ?? zerosLike(ctx.outputs[1]!);
    return apply(selectiveScanBackwardOp, [...xs, ctx.outputs[2]!, gOut, gLast], a);
  },
  // forward mode: the JVP of the twin (the scan is smooth; its tangent is another scan)
  jvp: (ctx, ts) => {
    const zs = ctx.inputs.map((x, i) => ts[i] ?? zerosLike(x));
    const [, [tOut, tLast]] = jvp((...ys: Tensor[]) => twin(ys, ctx.attrs), [...ctx.inputs], zs);
    return [tOut!, tLast!, null];
  },
  saveOutputs: true,
});

/** Inputs [...scan inputs, checkpoints, g (b, L, d), g_last (b, d, N)] → one gradient per scan input. */
export const selectiveScanBackwardOp = defineOp<ScanAttrs>({
  name: 'selectiveScanBackward',
  infer: (ins, a) => {
    const n = ins.length - 3;
    check(ins.slice(0, n), a);
    return ins.slice(0, n).map((m) => ({ shape: m.shape, dtype: m.dtype }));
  },
  ref: (xs, ins, a) => {
    const n = xs.length - 3;
    const r = scanBackwardLoops(asArrays(xs.slice(0, n), a), scanDims(ins, a), a.softplus, xs[n + 1]!, xs[n + 2]!);
    return [r.du, r.ddelta, r.dA, r.dB, r.dC, ...(a.hasD ? [r.dD!] : []), ...(a.hasZ ? [r.dz!] : []), ...(a.hasBias ? [r.dbias!] : [])];
  },
  vjp: () => {
    throw new Error('selectiveScanBackward: not differentiable; selectiveScan differentiates its twin when a gradient graph is requested');
  },
  jvp: () => {
    throw new Error('selectiveScanBackward: no forward mode; selectiveScan differentiates its twin under jvp');
  },
});

cpu().kernels.set('selectiveScan', scanForwardKernel(cpu()));
cpu().kernels.set('selectiveScanBackward', scanBackwardKernel(cpu()));

export interface FusedScanOptions extends SelectiveScanOptions {
  /** checkpoint interval for the backward pass (default 256) */
  chunk?: number;
}

/**
 * The fused selective scan: [out (b, L, d), last state (b, d, N)]. Inputs as
 * in selectiveScanRef (u, Δ, z (b, L, d); A (d, N); B, C (b, L, N); D, Δ_bias (d)).
 */
export function selectiveScan(x: SelectiveScanInputs, opts: FusedScanOptions = {}): [Tensor, Tensor] {
  const named: [string, unknown][] = [['u', x.u], ['delta', x.delta], ['A', x.A], ['B', x.B], ['C', x.C]];
  for (const [name, v] of named) {
    if (!(v instanceof Tensor)) throw new Error(`selectiveScan: ${name} must be a Tensor, got ${v === null ? 'null' : typeof v}`);
  }
  const attrs: ScanAttrs = { softplus: opts.deltaSoftplus ?? false, hasD: !!x.D, hasZ: !!x.z, hasBias: !!x.deltaBias, chunk: opts.chunk ?? SCAN_CHUNK };
  const ins = [x.u, x.delta, x.A, x.B, x.C, ...(x.D ? [x.D] : []), ...(x.z ? [x.z] : []), ...(x.deltaBias ? [x.deltaBias] : [])];
  return tidy(() => {
    const [out, last] = apply(selectiveScanOp, ins, attrs);
    return [out!, last!];
  });
}
