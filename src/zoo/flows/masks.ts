/**
 * Binary masks for coupling layers (Real NVP, Dinh et al., arXiv 1605.08803,
 * §3.4 and Fig. 3): units where b = 1 pass through unchanged and feed the
 * conditioner; units where b = 0 are transformed. Successive couplings use
 * complementary masks (parity 0, 1, 0, …) so every unit gets transformed.
 *
 * - 'alternating': vectors, b_i = 1 for even i (parity 0) — NICE's odd/even split (arXiv 1410.8516, §5.1)
 * - 'half': vectors, the first ⌈d/2⌉ units (parity 0) or the rest (parity 1)
 * - 'checkerboard': images, b_ij = 1 where i + j is even (parity 0)
 * - 'channel': images, the first half of the channels (parity 0) — Real NVP after a squeeze, and Glow
 */
import type { Tensor } from '../../core/tensor.js';
import type { DType } from '../../core/dtype.js';
import { shapeStr } from '../../core/shape.js';
import { tensor } from '../../ops/creation.js';

export type MaskKind = 'alternating' | 'half' | 'checkerboard' | 'channel';

export interface MaskSpec {
  kind: MaskKind;
  /** 0 or 1: which of the two complementary masks */
  parity: 0 | 1;
}

const MASK_KINDS: readonly MaskKind[] = ['alternating', 'half', 'checkerboard', 'channel'];

export function checkMaskSpec(op: string, m: MaskSpec): MaskSpec {
  if (!m || !MASK_KINDS.includes(m.kind)) throw new Error(`${op}: mask kind must be one of ${MASK_KINDS.join(', ')}, got ${String(m?.kind)}`);
  if (m.parity !== 0 && m.parity !== 1) throw new Error(`${op}: mask parity must be 0 or 1, got ${String(m.parity)}`);
  return { kind: m.kind, parity: m.parity };
}

/** The mask values for an example of shape `shape` ((d) or (c, h, w)), as a broadcastable shape and its values. */
export function maskValues(op: string, spec: MaskSpec, shape: readonly number[]): { shape: number[]; values: Float64Array } {
  const { kind, parity } = spec;
  const vec = kind === 'alternating' || kind === 'half';
  if (vec && shape.length !== 1) throw new Error(`${op}: a '${kind}' mask is for (b, d) vectors, got an example of shape ${shapeStr(shape)}`);
  if (!vec && shape.length !== 3) throw new Error(`${op}: a '${kind}' mask is for (b, c, h, w) images, got an example of shape ${shapeStr(shape)}`);
  if (kind === 'alternating' || kind === 'half') {
    const d = shape[0]!;
    if (d < 2) throw new Error(`${op}: a coupling needs at least 2 units to split, got d = ${d}`);
    const half = Math.ceil(d / 2);
    const v = Float64Array.from({ length: d }, (_, i) => {
      const on = kind === 'alternating' ? i % 2 === 0 : i < half;
      return on !== (parity === 1) ? 1 : 0;
    });
    return { shape: [1, d], values: v };
  }
  const [c, h, w] = shape as [number, number, number];
  if (kind === 'checkerboard') {
    if (h * w < 2) throw new Error(`${op}: a checkerboard mask needs at least 2 pixels, got ${h}×${w}`);
    const v = Float64Array.from({ length: h * w }, (_, k) => (((Math.floor(k / w) + (k % w)) % 2 === 0) !== (parity === 1) ? 1 : 0));
    return { shape: [1, 1, h, w], values: v };
  }
  if (c < 2) throw new Error(`${op}: a channel mask needs at least 2 channels, got ${c}`);
  const half = Math.ceil(c / 2);
  const v = Float64Array.from({ length: c }, (_, i) => ((i < half) !== (parity === 1) ? 1 : 0));
  return { shape: [1, c, 1, 1], values: v };
}

/** The mask b as a tensor that broadcasts against (b, …) inputs. */
export function makeMask(op: string, spec: MaskSpec, exampleShape: readonly number[], dtype: DType): Tensor {
  const { shape, values } = maskValues(op, spec, exampleShape);
  return tensor(values, shape, { dtype });
}

/** Masks for n successive couplings, alternating parity: 0, 1, 0, … */
export function alternatingMasks(kind: MaskKind, n: number): MaskSpec[] {
  return Array.from({ length: n }, (_, i) => ({ kind, parity: (i % 2) as 0 | 1 }));
}
