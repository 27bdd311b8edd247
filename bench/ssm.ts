/**
 * Sequence-model family (issue 6): the fused selective scan of Mamba
 * (src/zoo/ssm/selectiveScan.ts) and the fused LSTM recurrence
 * (src/zoo/rnn/rnnScan.ts), forward + backward, float32, tokens per second.
 *
 * - scan: B = 1, d_inner = 512, state 16, n = 1k, 4k, 16k, 64k, with D, z and
 *   Δ bias and softplus (the Mamba configuration). The peer is PyTorch
 *   running the algorithm of the authors' `selective_scan_ref` (a Python loop
 *   over tokens that autograd differentiates; bench/peers/torch_ssm.py); it
 *   runs up to n = 4k (its time per token is flat too, and 64k would take
 *   minutes a call).
 * - lstm: one layer, input 256, hidden 256, n = 256, batch 16, against
 *   torch.nn.LSTM on CPU (oneDNN/MKL kernels).
 *
 * Both backpropagate a fixed random cotangent of the output; nabla's backward
 * is `gradients` over every input (every parameter for the LSTM).
 *
 *   npx tsx bench/ssm.ts [driver options, see driver.ts]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, runFamilies } from './driver.js';
import { TARGET_HEADER, isSkip, measure, progress, rateOf, runCases, targetRow, type BenchCase, type Family, type FamilyContext, type Impl } from './harness.js';
import { PeerProcess, peerImpl, pythonPath } from './peers/peer.js';
import { pathsNote, probePaths } from './probe.js';
import { gradients } from '../src/autodiff/backward.js';
import { tidy } from '../src/core/memory.js';
import { key, split } from '../src/core/random.js';
import type { Tensor } from '../src/core/tensor.js';
import { exp, mul, neg } from '../src/ops/elementwise.js';
import { normal } from '../src/ops/random.js';
import { dispose, parameters } from '../src/nn/module.js';
import { selectiveScan } from '../src/zoo/ssm/selectiveScan.js';
import { LSTM } from '../src/zoo/rnn/rnn.js';

const here = dirname(fileURLToPath(import.meta.url));

interface ScanSpec {
  kind: 'scan';
  b: number;
  d: number;
  N: number;
  L: number;
}
interface LstmSpec {
  kind: 'lstm';
  batch: number;
  L: number;
  input: number;
  hidden: number;
}

function cases(quick: boolean): BenchCase[] {
  const lens = quick ? [64, 256] : [1024, 4096, 16384, 65536];
  const d = quick ? 16 : 512;
  const scan = lens.map((L) => ({
    family: 'ssm',
    name: `selective scan fwd+bwd b=1 d=${d} N=16 n=${L}`,
    spec: { family: 'ssm', kind: 'scan', b: 1, d, N: 16, L } satisfies ScanSpec & { family: string },
    work: L,
    unit: 'tokens/s' as const,
    series: 'scan',
  }));
  const l: LstmSpec = quick ? { kind: 'lstm', batch: 2, L: 16, input: 32, hidden: 32 } : { kind: 'lstm', batch: 16, L: 256, input: 256, hidden: 256 };
  const lstm = {
    family: 'ssm',
    name: `LSTM fwd+bwd hidden ${l.hidden} n=${l.L} batch ${l.batch}`,
    spec: { family: 'ssm', ...l },
    work: l.batch * l.L,
    unit: 'tokens/s' as const,
    series: 'lstm',
  };
  return [...scan, lstm];
}

/** One nabla call (forward + backward) of a case, with what it keeps alive. */
function build(spec: ScanSpec | LstmSpec): { run: () => void; dispose: () => void } {
  const ks = split(key(0), 10);
  if (spec.kind === 'scan') {
    const { b, d, N, L } = spec;
    const f32 = { dtype: 'f32' as const };
    const A = tidy(() => neg(exp(mul(normal(ks[2]!, [d, N], f32), 0.5))));
    const xs = [
      normal(ks[0]!, [b, L, d], f32),
      normal(ks[1]!, [b, L, d], { ...f32, mean: -1, std: 0.5 }),
      A,
      normal(ks[3]!, [b, L, N], f32),
      normal(ks[4]!, [b, L, N], f32),
      normal(ks[5]!, [d], f32),
      normal(ks[6]!, [b, L, d], f32),
      normal(ks[7]!, [d], { ...f32, std: 0.3 }),
    ];
    for (const x of xs) x.requiresGrad = true;
    const cot = normal(ks[8]!, [b, L, d], f32);
    const [u, delta, , B, C, D, z, deltaBias] = xs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const run = (): void =>
      tidy(() => {
        const [y] = selectiveScan({ u, delta, A, B, C, D, z, deltaBias }, { deltaSoftplus: true });
        gradients([y], xs, [cot]);
      });
    return { run, dispose: () => [...xs, cot].forEach((t) => t.dispose()) };
  }
  const layer = new LSTM(spec.input, spec.hidden, { key: ks[0]! });
  const x = normal(ks[1]!, [spec.batch, spec.L, spec.input], { dtype: 'f32' });
  x.requiresGrad = true;
  const cot = normal(ks[2]!, [spec.batch, spec.L, spec.hidden], { dtype: 'f32' });
  const ins = [x, ...parameters(layer)];
  const run = (): void =>
    tidy(() => {
      const { output } = layer.forward(x);
      gradients([output], ins, [cot]);
    });
  return {
    run,
    dispose: () => {
      dispose(layer);
      x.dispose();
      cot.dispose();
    },
  };
}

const nabla: Impl = {
  name: 'nabla',
  run: async (c, cfg) => {
    const { run, dispose: free } = build(c.spec as unknown as ScanSpec | LstmSpec);
    try {
      const note = pathsNote(probePaths(run), 3);
      return { ...measure(run, cfg), note };
    } finally {
      free();
    }
  },
};

export const ssmFamily: Family = {
  name: 'ssm',
  title: 'selective scan and LSTM, forward + backward, float32: tokens/s',
  async run(ctx: FamilyContext) {
    const all = cases(ctx.quick).filter((c) => c.name.includes(ctx.filter));
    const notes: string[] = [];
    // the PyTorch side has its own script (the scan reference and nn.LSTM); it starts when the torch peer was asked for
    let proc: PeerProcess | undefined;
    if (ctx.peers.has('torch')) {
      const p = await PeerProcess.start('torch', pythonPath(), [join(here, 'peers', 'torch_ssm.py')]);
      if (isSkip(p)) notes.push(`peer skipped: ${p.skip}`);
      else proc = p;
    } else notes.push('torch: not measured (not asked for)');
    try {
      const impls = [nabla, ...(proc ? [peerImpl(proc, 'torch', ctx.threads)] : [])];
      // a call at n = 64k takes tens of seconds here: allow it (one sample), the flatness figure needs it
      const results = await runCases(all, impls, { ...ctx.cfg, maxCallMs: Math.max(ctx.cfg.maxCallMs, 120_000) }, {
        skipFor: (impl, c) => (impl === 'torch' && c.spec.kind === 'scan' && (c.spec.L as number) > 4096 ? 'a Python loop over tokens: minutes a call past n = 4k (its time per token is flat)' : undefined),
        onResult: progress(ctx.log),
      });
      for (const r of results) {
        const m = r.results.find((x) => x.impl === 'nabla');
        notes.push(`nabla ${r.name}: ${m?.ok ? (m.note ?? '') : 'not run'}`);
      }
      const scan = (L: number): string | undefined => all.find((c) => c.spec.kind === 'scan' && c.spec.L === L)?.name;
      const lstm = all.find((c) => c.spec.kind === 'lstm')?.name;
      const [first, last] = [scan(1024), scan(65536)];
      const extra = ctx.quick
        ? []
        : [
            {
              title: 'against the targets of issue 6',
              header: TARGET_HEADER.map((h) => h.replace('issue 3', 'issue 6')),
              rows: [
                targetRow('selective scan fwd+bwd n=4k: nabla / PyTorch selective_scan_ref', rateOf(results, scan(4096) ?? '', 'nabla'), rateOf(results, scan(4096) ?? '', 'torch'), 1.0),
                targetRow('LSTM fwd+bwd: nabla / torch.nn.LSTM', rateOf(results, lstm ?? '', 'nabla'), rateOf(results, lstm ?? '', 'torch'), 1.0),
                targetRow('scan time per token flat: tokens/s at n=64k / at n=1k', rateOf(results, last ?? '', 'nabla'), rateOf(results, first ?? '', 'nabla'), 0.8),
              ],
            },
          ];
      return {
        family: 'ssm',
        title: this.title,
        cases: results,
        extra,
        ratios: [['nabla', 'torch']],
        notes: ['scan: softplus(Δ + bias), D skip, SiLU(z) gate, gradients of u, Δ, A, B, C, D, z, bias; PyTorch runs the selective_scan_ref algorithm (a Python loop, autograd)', ...notes],
      };
    } finally {
      proc?.close();
    }
  },
};

if (isMain(import.meta.url)) await runFamilies([ssmFamily]);
