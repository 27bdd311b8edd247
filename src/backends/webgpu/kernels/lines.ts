/**
 * Ops along one axis or over the last two: cumsum, cumprod and the linear
 * recurrence h_t = a_t·h_{t−1} + b_t (one invocation per line, a serial scan
 * along it: exact in order, as the references; a line is short next to the
 * number of lines in the models that use these), shiftAxis, tril/triu and
 * diagonalGrad (a fill, then a copy into a strided window, or a mask by
 * coordinates).
 *
 * Scan meta: [lines, n, inner, nk, keptShape(nk), then per input: offset,
 * axis stride, keptStrides(nk)].
 */
import type { Kernel, OutMeta, Storage, View } from '../../backend.js';
import { contiguousStrides, sizeOf } from '../../../core/shape.js';
import type { WebGpuBackend } from '../backend.js';
import type { DType } from '../../../core/dtype.js';
import { META, arrayType, collapse, conv, enableF16, layoutKey, loadElem, mainHeader, outThreads, storeAs, storeMain, storeType, type HalfMode } from '../wgsl.js';
import { fillKernel } from './movement.js';
import { launchElementwise } from './elementwise.js';

const WG = 64;

function scanPlan(inputs: readonly View[], axis: number): { ints: number[]; nk: number; lines: number } {
  const shape = inputs[0]!.shape;
  const keep = shape.map((_, d) => d).filter((d) => d !== axis);
  const kept = collapse(
    keep.map((d) => shape[d]!),
    inputs.map((v) => keep.map((d) => v.strides[d]!)),
  );
  const lines = sizeOf(kept.shape);
  const inner = sizeOf(shape.slice(axis + 1));
  const ints = [lines, shape[axis]!, inner, kept.shape.length, ...kept.shape];
  inputs.forEach((v, i) => ints.push(v.offset, v.strides[axis]!, ...kept.strides[i]!));
  return { ints, nk: kept.shape.length, lines };
}

/** A serial scan per line: `step` combines acc with the loaded values (v0, v1…) in the compute type. */
function scanShader(key: string, inputs: readonly View[], out: OutMeta, ct: 'f32' | 'i32', init: string, step: string): string {
  const k = inputs.length;
  const decl = inputs.map((v, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${storeType(v.dtype)}>;`).join('\n');
  const ptrs = inputs.map((_, i) => `var p${i} = prm[4 + nk + ${i} * (nk + 2)]; let s${i} = prm[5 + nk + ${i} * (nk + 2)];`).join('\n  ');
  const walk = inputs.map((_, i) => `p${i} += c * prm[6 + nk + ${i} * (nk + 2) + d];`).join(' ');
  const loads = inputs.map((v, i) => `let v${i} = ${conv(`in${i}[p${i} + t * s${i}]`, v.dtype, ct)};`).join(' ');
  return `// scan ${key}
${META}
${decl}
@group(0) @binding(${k + 1}) var<storage, read_write> out: array<${storeType(out.dtype)}>;
${mainHeader(WG)}
  if (gi >= prm[0]) { return; }
  let n = prm[1]; let inner = prm[2]; let nk = prm[3];
  let rev = prm[4 + nk + ${k} * (nk + 2)] != 0;
  ${ptrs}
  { var r = gi; for (var d = nk - 1; d >= 0; d--) { let s = prm[4 + d]; let c = r % s; r = r / s; ${walk} } }
  let ob = (gi / inner) * n * inner + gi % inner;
  var acc: ${ct} = ${init};
  for (var j = 0; j < n; j++) {
    let t = select(j, n - 1 - j, rev);
    ${loads}
    acc = ${step};
    out[ob + t * inner] = ${storeAs('acc', ct, out.dtype)};
  }
}`;
}

function scan(b: WebGpuBackend, key: string, inputs: readonly View[], out: OutMeta, axis: number, reverse: boolean, init: (ct: 'f32' | 'i32') => string, step: string): Storage | undefined {
  if (![...inputs.map((v) => v.dtype), out.dtype].every((d) => d === 'f32' || d === 'i32' || d === 'bool')) return undefined;
  const ct = out.dtype === 'f32' ? 'f32' : 'i32';
  const res = b.alloc(out.dtype, sizeOf(out.shape));
  if (res.size === 0) return res;
  const p = scanPlan(inputs, axis);
  const dts = inputs.map((v) => v.dtype).join(',');
  b.launch(`scan:${key}:${dts}:${out.dtype}`, () => scanShader(key, inputs, out, ct, init(ct), step), [...inputs.map((v) => v.storage), res], Math.ceil(p.lines / WG), [...p.ints, reverse ? 1 : 0]);
  return res;
}

/** tril/triu: keep x where j − i ≤ k (tril) or ≥ k (triu), else 0; coordinates of the last two axes. Packed halves: a word per invocation (storeMain). */
function triShader(lower: boolean, d: DType, mode: HalfMode): string {
  const st = arrayType(d, mode);
  return `${enableF16(mode, [d])}// ${lower ? 'tril' : 'triu'} ${layoutKey(d, mode)}
${META}
@group(0) @binding(1) var<storage, read> X: array<${st}>;
@group(0) @binding(2) var<storage, read_write> out: array<${st}>;
fn value(gi: i32) -> ${st} {
  let nd = prm[1]; let rows = prm[2]; let cols = prm[3]; let k = prm[4];
  var p = prm[5];
  { var r = gi; for (var d = nd - 1; d >= 0; d--) { let s = prm[6 + d]; let c = r % s; r = r / s; p += c * prm[6 + nd + d]; } }
  let j = gi % cols; let i = (gi / cols) % rows;
  let keep = ${lower ? 'j - i <= k' : 'j - i >= k'};
  return select(${st}(0), ${loadElem('X', 'p', d, mode)}, keep);
}
${mainHeader(WG)}
${storeMain(d, mode)}
}`;
}

export function registerLines(b: WebGpuBackend): void {
  const scalarDtypes = { dtypes: ['f32', 'i32', 'bool'] as const };
  const axisOf = (a: unknown): { axis: number; reverse: boolean } => a as { axis: number; reverse: boolean };
  const cumsum: Kernel = ([x], a, [o]) => {
    const r = scan(b, 'cumsum', [x!], o!, axisOf(a).axis, axisOf(a).reverse, (ct) => (ct === 'f32' ? '0.0' : '0'), 'acc + v0');
    return r ? [r] : undefined;
  };
  const cumprod: Kernel = ([x], a, [o]) => {
    const r = scan(b, 'cumprod', [x!], o!, axisOf(a).axis, axisOf(a).reverse, (ct) => (ct === 'f32' ? '1.0' : '1'), 'acc * v0');
    return r ? [r] : undefined;
  };
  const recurrence: Kernel = ([x, y], a, [o]) => {
    if (o!.dtype !== 'f32') return undefined;
    const r = scan(b, 'linearRecurrence', [x!, y!], o!, axisOf(a).axis, axisOf(a).reverse, () => '0.0', 'fma(v0, acc, v1)');
    return r ? [r] : undefined;
  };
  b.kernels.set('cumsum', Object.assign(cumsum, scalarDtypes));
  b.kernels.set('cumprod', Object.assign(cumprod, scalarDtypes));
  b.kernels.set('linearRecurrence', Object.assign(recurrence, { dtypes: ['f32'] as const }));

  const words = { dtypes: ['f32', 'f16', 'bf16', 'i32', 'bool'] as const };
  const place = (v: View, dst: Storage, shape: readonly number[], offset: number, strides: readonly number[]): void => {
    if (sizeOf(shape) > 0) launchElementwise(b, `place:${layoutKey(v.dtype, b.half)}`, [v], { shape: shape.slice(), dtype: dst.dtype }, (ld) => [ld[0]!, 'raw'], [], { storage: dst, offset, strides });
  };

  // shiftAxis: y[t] = x[t − by] inside the axis, `fill` elsewhere
  const shift: Kernel = ([x], attrs, [o]) => {
    const a = attrs as { axis: number; by: number; fill: number };
    if (x!.dtype === 'f64') return undefined;
    const res = b.alloc(o!.dtype, sizeOf(o!.shape));
    fillKernel(b, res, a.fill);
    const n = x!.shape[a.axis]!;
    const len = Math.max(0, n - Math.abs(a.by));
    if (len > 0) {
      const cs = contiguousStrides(o!.shape);
      const shape = x!.shape.slice();
      shape[a.axis] = len;
      const src = { ...x!, shape, offset: x!.offset + Math.max(0, -a.by) * x!.strides[a.axis]! };
      place(src, res, shape, Math.max(0, a.by) * cs[a.axis]!, cs);
    }
    return [res];
  };
  b.kernels.set('shiftAxis', Object.assign(shift, words, { packedHalves: true }));

  // diagonalGrad: zeros, then g on the diagonal window of the full shape
  const diagGrad: Kernel = ([g], attrs, [o]) => {
    const a = attrs as { offset: number; axis1: number; axis2: number; shape: number[] };
    if (g!.dtype === 'f64') return undefined;
    const res = b.alloc(o!.dtype, sizeOf(o!.shape));
    fillKernel(b, res, 0);
    const cs = contiguousStrides(a.shape);
    const rest = cs.filter((_, d) => d !== a.axis1 && d !== a.axis2);
    const start = a.offset >= 0 ? a.offset * cs[a.axis2]! : -a.offset * cs[a.axis1]!;
    place(g!, res, g!.shape, start, [...rest, cs[a.axis1]! + cs[a.axis2]!]);
    return [res];
  };
  b.kernels.set('diagonalGrad', Object.assign(diagGrad, words, { packedHalves: true }));

  for (const lower of [true, false]) {
    const tri: Kernel = ([x], attrs, [o]) => {
      if (x!.dtype === 'f64') return undefined;
      const n = sizeOf(o!.shape);
      const res = b.alloc(o!.dtype, n);
      if (n === 0) return [res];
      const s = x!.shape;
      const ints = [n, s.length, s[s.length - 2]!, s[s.length - 1]!, (attrs as { k: number }).k, x!.offset, ...s, ...x!.strides];
      b.launch(`tri:${lower}:${layoutKey(x!.dtype, b.half)}`, () => triShader(lower, x!.dtype, b.half), [x!.storage, res], Math.ceil(outThreads(x!.dtype, b.half, n) / WG), ints);
      return [res];
    };
    b.kernels.set(lower ? 'tril' : 'triu', Object.assign(tri, words, { packedHalves: true }));
  }
}
