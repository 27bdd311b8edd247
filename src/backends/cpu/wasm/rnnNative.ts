/**
 * The CPU backend's native kernels for the `rnnScan` and `rnnScanBackward`
 * ops (src/zoo/rnn/rnnScan.ts) on float32: the loops of rnnLoops.ts run
 * over Float32Array views of the heap (no copies), with every per-step
 * product (b × H)·(H × G·H) going to sgemm in place (the WebAssembly kernel,
 * or the system BLAS for large products, see ../blas.ts). One op call covers
 * the whole sequence: no per-step dispatch, no per-step tensors.
 *
 * They decline for other dtypes (the float64 reference loops run instead).
 */
import type { Kernel, View } from '../../backend.js';
import type { CpuBackend, CpuStorage } from '../index.js';
import { withBlas } from '../blas.js';
import { sgemm } from './sgemm.js';
import { callerScratch } from './kernels.js';
import { DEFAULT_SGEMM, sgemmScratchBytes } from './sgemm.kernel.js';
import { Temps, f32At } from './scanTemps.js';
import { gateCount, rnnBackward, rnnForward, type Arr, type Gemm, type RnnInputs, type RnnMode } from './rnnLoops.js';

interface RnnAttrs {
  mode: RnnMode;
  hasBias: boolean;
  hasMask: boolean;
}

const gemmF32 = withBlas(sgemm);

/** sgemm on heap views: a Float32Array's byteOffset is its heap pointer. */
const heapGemm: Gemm = (transA, transB, m, n, k, A, lda, B, ldb, beta, C, ldc) => {
  if (m === 0 || n === 0) return;
  gemmF32({ transA, transB, m, n, k, aPtr: A.byteOffset, lda, bPtr: B.byteOffset, ldb, beta, cPtr: C.byteOffset, ldc });
};

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Float32 views of the op's inputs [xp, whh, bhh?, h0, c0?, mask?] at their (contiguous) pointers. */
function inputsAt(be: CpuBackend, ins: readonly View[], ptrs: number[], a: RnnAttrs): RnnInputs {
  let k = 0;
  const next = (present: boolean): Float32Array | null => {
    if (!present) return null;
    const v = ins[k]!;
    const p = ptrs[k]!;
    k++;
    return f32At(be, p, size(v.shape));
  };
  const xp = next(true)!;
  const whh = next(true)!;
  const bhh = next(a.hasBias);
  const h0 = next(true)!;
  const c0 = next(a.mode === 'lstm');
  const mask = next(a.hasMask);
  return { xp, whh, bhh, h0, c0, mask };
}


export function rnnForwardKernel(be: CpuBackend): Kernel {
  return (inputs, attrs, outs) => {
    if (inputs.some((v) => v.dtype !== 'f32') || outs.some((o) => o.dtype !== 'f32')) return undefined;
    const a = attrs as RnnAttrs;
    const [L, b] = inputs[0]!.shape as [number, number];
    const H = inputs[1]!.shape[1]!;
    const tmp = new Temps(be);
    const res = outs.map((o) => be.alloc('f32', size(o.shape))) as CpuStorage[];
    try {
      const ptrs = inputs.map((v) => tmp.contiguous(v));
      const hp = tmp.alloc(b * gateCount(a.mode) * H);
      callerScratch(sgemmScratchBytes(DEFAULT_SGEMM)); // before taking views: it may grow the heap
      const x = inputsAt(be, inputs, ptrs, a);
      const o = (i: number): Float32Array => f32At(be, res[i]!.ptr, size(outs[i]!.shape));
      const lstm = a.mode === 'lstm';
      const out = lstm ? { hs: o(0), hN: o(1), cN: o(2), gates: o(3), cs: o(4) } : { hs: o(0), hN: o(1), cN: null, gates: o(2), cs: null };
      rnnForward(a.mode, { L, b, H }, x, out, f32At(be, hp.ptr, b * gateCount(a.mode) * H), heapGemm);
    } catch (e) {
      for (const s of res) be.free(s);
      throw e;
    } finally {
      tmp.free();
    }
    return res;
  };
}

export function rnnBackwardKernel(be: CpuBackend): Kernel {
  return (inputs, attrs, outs) => {
    if (inputs.some((v) => v.dtype !== 'f32') || outs.some((o) => o.dtype !== 'f32')) return undefined;
    const a = attrs as RnnAttrs;
    const lstm = a.mode === 'lstm';
    const nIn = 4 + (a.hasBias ? 1 : 0) + (lstm ? 1 : 0) + (a.hasMask ? 1 : 0) - 1;
    const [L, b] = inputs[0]!.shape as [number, number];
    const H = inputs[1]!.shape[1]!;
    const GH = gateCount(a.mode) * H;
    const tmp = new Temps(be);
    const res = outs.map((o) => be.alloc('f32', size(o.shape))) as CpuStorage[];
    try {
      const ptrs = inputs.map((v) => tmp.contiguous(v));
      const dgh = a.mode === 'gru' ? tmp.alloc(L * b * GH) : null;
      const scratch = tmp.alloc(b * H);
      callerScratch(sgemmScratchBytes(DEFAULT_SGEMM));
      const x = inputsAt(be, inputs, ptrs, a);
      const at = (i: number): Float32Array => f32At(be, ptrs[i]!, size(inputs[i]!.shape));
      let k = nIn;
      const hs = at(k++);
      const gates = at(k++);
      const cs = lstm ? at(k++) : null;
      const dhs = at(k++);
      const dhN = at(k++);
      const dcN = lstm ? at(k++) : null;
      let q = 0;
      const o = (): Float32Array => {
        const i = q++;
        return f32At(be, res[i]!.ptr, size(outs[i]!.shape));
      };
      const dxp = o();
      const dwhh = o();
      const dbhh = a.hasBias ? o() : null;
      const dh0 = o();
      const dc0 = lstm ? o() : null;
      const g = { dxp, dwhh, dbhh, dh0, dc0 };
      const dghArr: Arr = dgh ? f32At(be, dgh.ptr, L * b * GH) : dxp;
      rnnBackward(a.mode, { L, b, H }, x, { hs, gates, cs }, dhs, dhN, dcN, g, dghArr, f32At(be, scratch.ptr, b * H), heapGemm);
    } catch (e) {
      for (const s of res) be.free(s);
      throw e;
    } finally {
      tmp.free();
    }
    return res;
  };
}
