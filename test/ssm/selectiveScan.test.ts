/**
 * The fused selective scan against its naive twin (mamba's selective_scan_ref
 * algorithm): values and the gradients of every input (u, Δ, A, B, C, D, z,
 * Δ_bias), in float64 (the reference loops, 1e-10) and float32 (the
 * WebAssembly kernel, 1e-4), with and without the optional inputs, with
 * checkpoint chunks that do not divide L; gradients of gradients; memory that
 * grows linearly in L with no L·d·N term.
 */
import { describe, expect, it } from 'vitest';
import { astype, exp, neg, memory, resetPeakMemory, tidy, grad, sum, mul, type Tensor, type DType } from '../../src/index.js';
import { selectiveScan } from '../../src/zoo/ssm/selectiveScan.js';
import { selectiveScanRef, type SelectiveScanInputs } from '../../src/zoo/ssm/selectiveScan.ref.js';
import { expectRel, sampler, valuesAndGrads } from './helpers.js';

interface Case {
  b: number;
  L: number;
  d: number;
  N: number;
  D?: boolean;
  z?: boolean;
  bias?: boolean;
  softplus?: boolean;
  chunk?: number;
}

const NAMES = ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias'] as const;

function inputs(c: Case, seed: number): Tensor[] {
  const s = sampler(seed);
  const sp = c.softplus ?? true;
  return [
    s.normal([c.b, c.L, c.d]),
    sp ? s.normal([c.b, c.L, c.d], { scale: 0.5, shift: -1 }) : s.uniform([c.b, c.L, c.d], 0.01, 0.3),
    neg(exp(s.normal([c.d, c.N], { scale: 0.5 }))),
    s.normal([c.b, c.L, c.N]),
    s.normal([c.b, c.L, c.N]),
    ...(c.D ? [s.normal([c.d])] : []),
    ...(c.z ? [s.normal([c.b, c.L, c.d])] : []),
    ...(c.bias ? [s.normal([c.d], { scale: 0.3 })] : []),
  ];
}

function asInputs(c: Case, xs: Tensor[]): SelectiveScanInputs {
  let k = 5;
  return { u: xs[0]!, delta: xs[1]!, A: xs[2]!, B: xs[3]!, C: xs[4]!, D: c.D ? xs[k++] : null, z: c.z ? xs[k++] : null, deltaBias: c.bias ? xs[k++] : null };
}

const fused = (c: Case) => (...xs: Tensor[]): Tensor[] => selectiveScan(asInputs(c, xs), { deltaSoftplus: c.softplus ?? true, chunk: c.chunk });
const naive = (c: Case) => (...xs: Tensor[]): Tensor[] => selectiveScanRef(asInputs(c, xs), { deltaSoftplus: c.softplus ?? true });

function compare(c: Case, dtype: DType, tol: number, seed = 1): void {
  tidy(() => {
    const x64 = inputs(c, seed);
    const s = sampler(seed + 100);
    const ws = [s.normal([c.b, c.L, c.d]), s.normal([c.b, c.d, c.N])];
    const xs = dtype === 'f64' ? x64 : x64.map((x) => astype(x, dtype));
    // the yardstick: the twin in float64 on the same (rounded) inputs
    const [want, wantG] = valuesAndGrads(naive(c), xs.map((x) => astype(x, 'f64')), ws);
    const [got, gotG] = valuesAndGrads(fused(c), xs, ws.map((w) => astype(w, dtype)));
    expectRel(got[0]!, want[0]!, tol, `${dtype} out`);
    expectRel(got[1]!, want[1]!, tol, `${dtype} last state`);
    const names = NAMES.filter((n) => n === 'u' || n === 'delta' || n === 'A' || n === 'B' || n === 'C' || (n === 'D' && c.D) || (n === 'z' && c.z) || (n === 'deltaBias' && c.bias));
    names.forEach((n, i) => expectRel(gotG[i]!, wantG[i]!, tol, `${dtype} d${n}`));
  });
}

const FULL: Case = { b: 2, L: 37, d: 8, N: 5, D: true, z: true, bias: true, softplus: true, chunk: 16 };

describe('selectiveScan (fused) equals selectiveScanRef (naive twin)', () => {
  it('float64 reference loops: values and all gradients to 1e-10', () => compare(FULL, 'f64', 1e-10));
  it('float32 WebAssembly kernel: values and all gradients to 1e-4', () => compare(FULL, 'f32', 1e-4));
  it('without D, z or Δ bias, Δ used as given (no softplus)', () => {
    const c: Case = { b: 1, L: 20, d: 4, N: 3, softplus: false, chunk: 7 };
    compare(c, 'f64', 1e-10, 2);
    compare(c, 'f32', 1e-4, 2);
  });
  it('one checkpoint chunk longer than the sequence, and chunk 1', () => {
    compare({ ...FULL, chunk: 1000 }, 'f32', 1e-4, 3);
    compare({ ...FULL, L: 9, chunk: 1 }, 'f32', 1e-4, 3);
  });
  it('d not a multiple of 4 (the kernel declines; the loops run in float32)', () => compare({ ...FULL, d: 6 }, 'f32', 1e-4, 4));
  it('a longer sequence with a state size of 16 (the Mamba default)', () => compare({ b: 1, L: 100, d: 8, N: 16, D: true, z: true, bias: true }, 'f32', 1e-4, 5));
});

describe('selectiveScan higher order', () => {
  it('grad of grad goes through the twin and equals the twin’s own', () => {
    const c: Case = { b: 1, L: 6, d: 4, N: 2, D: true, z: true, bias: false, chunk: 4 };
    tidy(() => {
      const xs = inputs(c, 9);
      const second = (f: (...ys: Tensor[]) => Tensor[]) => {
        // d/du Σ (∂L/∂u)², L = Σ out
        const inner = (u: Tensor): Tensor => {
          const g = grad((v: Tensor) => sum(f(v, ...xs.slice(1))[0]!))(u) as Tensor;
          return sum(mul(g, g));
        };
        return (grad(inner)(xs[0]!) as Tensor).toF64();
      };
      expectRel(second(fused(c)), second(naive(c)), 1e-10, 'second order');
    });
  });
});

describe('selectiveScan memory', () => {
  it('forward + backward peak grows linearly in L and has no L·d·N term', () => {
    const peak = (L: number, N: number): number =>
      tidy(() => {
        const c: Case = { b: 1, L, d: 128, N, D: true, z: true, bias: true };
        const xs = inputs(c, 11).map((x) => astype(x, 'f32'));
        const before = memory().liveBytes;
        resetPeakMemory();
        const g = grad((...ys: Tensor[]) => sum(fused(c)(...ys)[0]!), { argnums: [0, 1, 2, 3, 4, 5, 6, 7] })(...xs) as Tensor[];
        g.forEach((t) => t.dispose());
        return memory().peakBytes - before;
      });
    const [p1, p2, p3] = [peak(512, 16), peak(1024, 16), peak(1024, 32)];
    expect(p2 / p1).toBeGreaterThan(1.6);
    expect(p2 / p1).toBeLessThan(2.4);
    // storing hₜ for every step would add L·d·ΔN floats when N grows from 16 to 32; what does
    // grow is O(L·N): dB, dC and their per-lane, per-thread partial sums
    const statesGrowth = 1024 * 128 * 16 * 4;
    expect(p3 - p2).toBeLessThan(statesGrowth / 4);
  });
});
