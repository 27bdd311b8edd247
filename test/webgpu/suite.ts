/**
 * The op suite on the WebGPU backend, in four files (one device each, so
 * each file stays short on two cores): every case of test/ops/cases through
 * checkOpOnGpu. Skipped, with the reason, when no WebGPU adapter exists.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { OpCase } from '../helpers/check.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { elementwiseCases } from '../ops/cases/elementwise.js';
import { shapeCases } from '../ops/cases/shape.js';
import { viewCases } from '../ops/cases/views.js';
import { indexingCases } from '../ops/cases/indexing.js';
import { einsumCases, matmulCases } from '../ops/cases/matmul.js';
import { linalgCases } from '../ops/cases/linalg.js';
import { fftCases } from '../ops/cases/fft.js';
import { reduceCases } from '../ops/cases/reduce.js';
import { nnCases } from '../ops/cases/nn.js';
import { allCases } from '../ops/cases/index.js';
import { checkOpOnGpu } from './gpuCheck.js';
import { gpuForTests } from './device.js';
import { SYNC_READ } from './syncRead.js';

const elementwise = [...elementwiseCases, ...shapeCases, ...viewCases, ...indexingCases];
const linalg = [...matmulCases, ...einsumCases, ...linalgCases, ...fftCases];
const nn = [...reduceCases, ...nnCases];
const listed = new Set([...elementwise, ...linalg, ...nn]);
/** four groups; the last takes every case the others do not list (so new case files are never missed) */
export const GROUPS: Record<string, OpCase[]> = {
  elementwise,
  linalg,
  nn,
  rest: allCases.filter((c) => !listed.has(c)),
};

const title = (c: OpCase): string => `${c.op}${c.label ? ` (${c.label})` : ''}`;

export async function runGpuSuite(group: keyof typeof GROUPS): Promise<void> {
  const { gpu, reason } = await gpuForTests();
  const cases = GROUPS[group]!;
  describe.skipIf(!gpu)(gpu ? `op suite on webgpu: ${group}` : `op suite on webgpu: ${group} (skipped: ${reason})`, () => {
    afterAll(async () => {
      await releaseWebGpu();
    });
    for (const c of cases) {
      const why = SYNC_READ[title(c)];
      if (why) it.skip(`${title(c)} (reads values on the host: ${why})`, () => {});
      else it(title(c), async () => checkOpOnGpu(c, gpu!));
    }
    it('ops ran their kernels for every dtype combination the kernels declare (no fallback there)', () => {
      const declined = [...gpu!.fallbacks].filter(([op, sigs]) => {
        const k = gpu!.kernels.get(op) as { dtypes?: readonly string[] } | undefined;
        return k?.dtypes && [...sigs].some((s) => s.split(/,|->/).every((d) => k.dtypes!.includes(d)));
      });
      expect(declined.map(([op, sigs]) => `${op}(${[...sigs].join(' | ')})`)).toEqual([]);
    });
  });
  describe(`op suite on webgpu: ${group} bookkeeping`, () => {
    it('the groups hold every case once, and every skip names a case', () => {
      const all = Object.values(GROUPS).flat();
      expect(all.length).toBe(allCases.length);
      expect(new Set(all).size).toBe(allCases.length);
      const names = new Set(allCases.map(title));
      expect(Object.keys(SYNC_READ).filter((k) => !names.has(k))).toEqual([]);
    });
  });
}
