/**
 * The fused sequence kernels on WebGPU (kernels/fused: the selective scan,
 * forward and backward) against their naive twins run in float64 on the
 * CPU: outputs and the gradients of every input of Σₖ⟨wₖ, outₖ⟩, with the op
 * required to run in WGSL (no CPU fallback). Small shapes (SwiftShader is
 * slow), checkpoint chunks that do not divide L, channel counts that leave
 * a workgroup part empty. Skipped, with the reason, without an adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/core/tensor.js';
import { getDefaultBackend, setDefaultBackend } from '../../src/ops/creation.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { selectiveScan } from '../../src/zoo/ssm/selectiveScan.js';
import { selectiveScanRef, type SelectiveScanInputs } from '../../src/zoo/ssm/selectiveScan.ref.js';
import { rnnScan } from '../../src/zoo/rnn/rnnScan.js';
import { rnnScanRef } from '../../src/zoo/rnn/cells.ref.js';
import { linearAttentionChunked } from '../../src/zoo/attention/linear.js';
import { linearAttentionParallel } from '../../src/zoo/attention/linear.ref.js';
import { expectClose } from '../helpers/check.js';
import { mulberry32, randn } from '../helpers/rng.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

function on<R>(b: Backend, f: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(b);
  try {
    return f();
  } finally {
    setDefaultBackend(prev);
  }
}

interface Input {
  shape: number[];
  /** value from a standard normal draw */
  map?: (z: number) => number;
}

type Fn = (...xs: Tensor[]) => Tensor[];

describe.skipIf(!gpu)(gpu ? 'fused sequence kernels on webgpu' : `fused sequence kernels on webgpu (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  /** fused on the GPU (f32) vs naive on the CPU (f64), values and gradients; `ops` must not fall back. */
  async function parity(label: string, ins: Input[], fused: Fn, naive: Fn, ops: string[], tol = 1e-4, seed = 5, mustLaunch?: string): Promise<void> {
    const rng = mulberry32(seed);
    const vals = ins.map((s) => Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => Math.fround((s.map ?? ((z) => z))(randn(rng)))));
    const xc = ins.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: 'f64', backend: nb.cpu() }));
    const xg = ins.map((s, i) => nb.tensor(vals[i]!, s.shape, { dtype: 'f32', backend: g }));
    const want = on(nb.cpu(), () => naive(...xc));
    const ws = want.map((y) => Array.from({ length: y.size }, () => randn(rng)));
    const loss = (b: Backend, f: Fn) => (...xs: Tensor[]): Tensor =>
      f(...xs)
        .map((y, k) => nb.sum(nb.mul(y, nb.tensor(ws[k]!, y.shape, { dtype: y.dtype, backend: b }))))
        .reduce((a, t) => nb.add(a, t));
    const argnums = ins.map((_, i) => i);
    g.fallbacks.clear();
    // record the shaders launched, to see the fused kernel run (not a composite of other kernels)
    const keys = new Set<string>();
    const launch = g.launch.bind(g);
    g.launch = (key, ...rest) => {
      keys.add(key);
      launch(key, ...rest);
    };
    let got: Tensor[];
    let gotG: Tensor[];
    try {
      got = on(g, () => fused(...xg));
      gotG = on(g, () => nb.grad(loss(g, fused), { argnums })(...xg)) as Tensor[];
    } finally {
      g.launch = launch;
    }
    if (mustLaunch) expect([...keys].some((k) => k.startsWith(mustLaunch)), `${label}: ${mustLaunch} launched`).toBe(true);
    const wantG = on(nb.cpu(), () => nb.grad(loss(nb.cpu(), naive), { argnums })(...xc)) as Tensor[];
    for (let k = 0; k < want.length; k++) expectClose(await g.readF64(got[k]!), want[k]!.toF64(), tol, `${label}: output ${k}`);
    for (let i = 0; i < ins.length; i++) expectClose(await g.readF64(gotG[i]!), wantG[i]!.toF64(), tol, `${label}: gradient of input ${i}`);
    expect([...g.fallbacks.keys()].filter((k) => ops.includes(k)), `${label}: fell back to the CPU`).toEqual([]);
    [...xc, ...xg, ...want, ...got, ...gotG, ...wantG].forEach((t) => t.dispose());
  }

  describe('selective scan', () => {
    const scanInputs = (b: number, L: number, d: number, N: number, o: { D?: boolean; z?: boolean; bias?: boolean; softplus?: boolean }): Input[] => [
      { shape: [b, L, d] },
      { shape: [b, L, d], map: o.softplus ? (z) => 0.5 * z - 1 : (z) => 0.05 + 0.1 * Math.abs(z) },
      { shape: [d, N], map: (z) => -Math.exp(0.5 * z) },
      { shape: [b, L, N] },
      { shape: [b, L, N] },
      ...(o.D ? [{ shape: [d] }] : []),
      ...(o.z ? [{ shape: [b, L, d] }] : []),
      ...(o.bias ? [{ shape: [d], map: (z: number) => 0.3 * z }] : []),
    ];
    const asInputs = (o: { D?: boolean; z?: boolean; bias?: boolean; softplus?: boolean }, xs: Tensor[]): SelectiveScanInputs => {
      let k = 5;
      return { u: xs[0]!, delta: xs[1]!, A: xs[2]!, B: xs[3]!, C: xs[4]!, D: o.D ? xs[k++] : null, z: o.z ? xs[k++] : null, deltaBias: o.bias ? xs[k++] : null };
    };
    const OPS = ['selectiveScan', 'selectiveScanBackward'];

    it('all options (D, z, Δ bias, softplus), chunk 8 not dividing L = 21, d = 70 (two channel groups)', async () => {
      const o = { D: true, z: true, bias: true, softplus: true };
      await parity(
        'scan full',
        scanInputs(2, 21, 70, 4, o),
        (...xs) => selectiveScan(asInputs(o, xs), { deltaSoftplus: true, chunk: 8 }),
        (...xs) => selectiveScanRef(asInputs(o, xs), { deltaSoftplus: true }),
        OPS,
      );
    });

    it('no optional inputs, Δ as given, one chunk longer than L', async () => {
      const o = { softplus: false };
      await parity(
        'scan bare',
        scanInputs(1, 9, 5, 3, o),
        (...xs) => selectiveScan(asInputs(o, xs), { deltaSoftplus: false, chunk: 64 }),
        (...xs) => selectiveScanRef(asInputs(o, xs), { deltaSoftplus: false }),
        OPS,
      );
    });

    it('permuted (strided) inputs, chunk 1, N = 16', async () => {
      const T = (x: Tensor): Tensor => nb.contiguous(nb.permute(x, [0, 2, 1]));
      await parity(
        'scan strided',
        [{ shape: [1, 3, 6] }, { shape: [1, 3, 6], map: (z) => 0.05 + 0.1 * Math.abs(z) }, { shape: [3, 16], map: (z) => -Math.exp(0.5 * z) }, { shape: [1, 16, 6] }, { shape: [1, 6, 16] }, { shape: [3] }, { shape: [1, 6, 3] }],
        (u, dl, A, B, C, D, z) => selectiveScan({ u: nb.permute(u!, [0, 2, 1]), delta: nb.permute(dl!, [0, 2, 1]), A: A!, B: nb.permute(B!, [0, 2, 1]), C: C!, D: D!, z: z! }, { deltaSoftplus: false, chunk: 1 }),
        (u, dl, A, B, C, D, z) => selectiveScanRef({ u: T(u!), delta: T(dl!), A: A!, B: T(B!), C: C!, D: D!, z: z! }, { deltaSoftplus: false }),
        OPS,
      );
    });
  });

  describe('RNN, LSTM and GRU sequence op', () => {
    const OPS = ['rnnScan', 'rnnScanBackward'];
    const L = 5;
    const b = 3;
    const H = 6;
    // a mask with padding in the middle and at the end of sequences
    const maskVals = Array.from({ length: L * b }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const mask = (on: Backend): Tensor => nb.tensor(maskVals, [L, b], { dtype: on === g ? 'f32' : 'f64', backend: on });
    for (const mode of ['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const) {
      const G = mode === 'lstm' ? 4 : mode === 'gru' ? 3 : 1;
      const lstm = mode === 'lstm';
      const withMask = mode !== 'rnn_relu';
      it(`${mode}: bias${withMask ? ', mask' : ''}, values and the gradients of xp, W_hh, b_hh, h0${lstm ? ', c0' : ''}`, async () => {
        const ins: Input[] = [{ shape: [L, b, G * H] }, { shape: [G * H, H], map: (z) => 0.4 * z }, { shape: [G * H], map: (z) => 0.2 * z }, { shape: [b, H] }, ...(lstm ? [{ shape: [b, H] }] : [])];
        const args = (xs: Tensor[]) => ({ xp: xs[0]!, whh: xs[1]!, bhh: xs[2]!, h0: xs[3]!, c0: lstm ? xs[4]! : null });
        await parity(
          mode,
          ins,
          (...xs) => {
            const a = args(xs);
            const [hs, h, c] = rnnScan(mode, { ...a, mask: withMask ? mask(g) : null });
            return c ? [hs, h, c] : [hs, h];
          },
          (...xs) => {
            const a = args(xs);
            const [hs, h, c] = rnnScanRef(mode, a.xp, { whh: a.whh, bhh: a.bhh }, a.h0, a.c0, withMask ? mask(nb.cpu()) : null);
            return c ? [hs, h, c] : [hs, h];
          },
          OPS,
        );
      });
    }
  });

  it('lstm with H = 40: several unit blocks per step and column blocks in the backward carry', async () => {
    const [L, b, H] = [3, 2, 40];
    await parity(
      'lstm H 40',
      [{ shape: [L, b, 4 * H] }, { shape: [4 * H, H], map: (z) => 0.2 * z }, { shape: [b, H] }, { shape: [b, H] }],
      (xp, whh, h0, c0) => rnnScan('lstm', { xp: xp!, whh: whh!, h0: h0!, c0: c0! }) as Tensor[],
      (xp, whh, h0, c0) => rnnScanRef('lstm', xp!, { whh: whh!, bhh: null }, h0!, c0!, null) as Tensor[],
      ['rnnScan', 'rnnScanBackward'],
    );
  });

  describe('causal chunked linear attention', () => {
    // the composite's own primitives: if any ran (on the GPU or not), the fused path was not taken
    const COMPOSITE = ['tril', 'cumsum', 'shiftAxis'];
    const pos = (z: number): number => Math.abs(z) + 0.1;
    for (const normalize of [true, false]) {
      it(`${normalize ? 'normalised' : 'numerator only'}: (2, 3) heads, n = 45 (two 32-row chunks, one partial), f = 5, dv = 19 (two column blocks)`, async () => {
        const opts = { causal: true, normalize, eps: 1e-6 };
        await parity(
          `linear attention normalize=${normalize}`,
          [{ shape: [2, 3, 45, 5], map: pos }, { shape: [2, 3, 45, 5], map: pos }, { shape: [2, 3, 45, 19] }],
          (q, k, v) => [linearAttentionChunked(q!, k!, v!, { ...opts, chunk: 16 })],
          (q, k, v) => [linearAttentionParallel(q!, k!, v!, opts)],
          COMPOSITE,
          1e-4,
          5,
          'fused:linattn',
        );
      });
    }
  });
});
