/**
 * Which primitives a nabla computation ran natively and which on the float64
 * reference, and where its time went: run it once with the CPU backend's
 * `run` wrapped, recording each op by name, whether a native kernel accepted
 * it, and the time spent in it. The benchmark tables say this beside each
 * nabla result, so a number is never mistaken for a kernel that did not run,
 * and the slowest ops are named.
 */
import { CpuBackend, cpu } from '../src/backends/cpu/index.js';

export interface OpTime {
  op: string;
  native: boolean;
  calls: number;
  ms: number;
}

export interface Paths {
  native: string[];
  reference: string[];
  /** time per (op, path), slowest first */
  times: OpTime[];
  totalMs: number;
}

export function probePaths(run: () => void): Paths {
  const be = cpu();
  const times = new Map<string, OpTime>();
  const record = (op: string, native: boolean, ms: number): void => {
    const k = `${op}|${native}`;
    const t = times.get(k) ?? { op, native, calls: 0, ms: 0 };
    t.calls++;
    t.ms += ms;
    times.set(k, t);
  };
  const wrapped: CpuBackend['run'] = function (this: CpuBackend, op, inputs, attrs, outs) {
    const t0 = performance.now();
    const r = this.kernels.get(op.name)?.(inputs, attrs, outs);
    if (r) {
      record(op.name, true, performance.now() - t0);
      return r;
    }
    const out = CpuBackend.prototype.run.call(this, op, inputs, attrs, outs);
    record(op.name, false, performance.now() - t0);
    return out;
  };
  be.run = wrapped;
  const t0 = performance.now();
  try {
    run();
  } finally {
    delete (be as Partial<Pick<CpuBackend, 'run'>>).run;
  }
  const list = [...times.values()].sort((a, b) => b.ms - a.ms);
  return {
    native: [...new Set(list.filter((t) => t.native).map((t) => t.op))],
    reference: [...new Set(list.filter((t) => !t.native).map((t) => t.op))],
    times: list,
    totalMs: performance.now() - t0,
  };
}

/** 'native: a, b; reference: c; time: 41% exp (ref), ...' (the parts that are not empty). */
export function pathsNote(p: Paths, top = 0): string {
  const parts = [];
  if (p.native.length) parts.push(`native: ${p.native.join(', ')}`);
  if (p.reference.length) parts.push(`reference: ${p.reference.join(', ')}`);
  if (top > 0 && p.times.length) {
    const share = (t: OpTime): string => `${((t.ms / p.totalMs) * 100).toFixed(0)}% ${t.op}${t.native ? '' : ' (ref)'}`;
    parts.push(`time: ${p.times.slice(0, top).map(share).join(', ')}`);
  }
  return parts.join('; ') || 'no kernels ran';
}
