/** Shapes, strides and broadcasting (NumPy rules). */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major (C-contiguous) strides in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function assertShape(op: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new Error(`${op}: ${arg} must be an array of non-negative integers, got ${String(shape)}`);
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`${op}: ${arg} must contain non-negative integers, got ${shapeStr(shape)}`);
  }
  return shape.slice();
}

/** Broadcast shapes by NumPy rules; the error names the op, the arguments and both shapes. */
export function broadcastShapes(op: string, shapes: Shape[], names?: string[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (let k = 0; k < shapes.length; k++) {
    const s = shapes[k]!;
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      const d = s[i]!;
      if (d === out[o]) continue;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1) {
        const nm = names ?? shapes.map((_, j) => `arg${j}`);
        const desc = shapes.map((sh, j) => `${nm[j]} is ${shapeStr(sh)}`).join(', ');
        throw new Error(`${op}: shapes do not broadcast: ${desc} (dimension ${i - s.length} is ${out[o]} vs ${d})`);
      }
    }
  }
  return out;
}

export function normAxis(op: string, axis: number, ndim: number, arg = 'axis'): number {
  if (!Number.isInteger(axis)) throw new Error(`${op}: ${arg} must be an integer, got ${axis}`);
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (axis < lo || axis > hi) throw new Error(`${op}: ${arg} ${axis} is out of range for a tensor of rank ${ndim}`);
  return axis < 0 ? axis + Math.max(ndim, 1) : axis;
}

/** Normalise an axis list (undefined = all axes); sorted, unique. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(op, a, ndim));
  const set = new Set(out);
  if (set.size !== out.length) throw new Error(`${op}: axes contain a repeated axis: [${list.join(',')}]`);
  return [...set].sort((a, b) => a - b);
}
