/**
 * RetNet retention: parallel = recurrent = chunkwise (values and gradients of
 * q, k, v; chunks that do and do not divide n); the multi-scale retention
 * mixer gives the same outputs and parameter gradients in all three modes and
 * decodes step by step as it runs whole sequences; chunkwise memory grows
 * linearly in n, the parallel form's as n².
 */
import { describe, expect, it } from 'vitest';
import { tidy, randomKey, nn, slice, stack, astype, memory, resetPeakMemory, grad, sum, mul, type Tensor } from '../../src/index.js';
import { retentionChunkwise, retentionGammas, retentionParallel, retentionRecurrent } from '../../src/zoo/ssm/retention.js';
import { MultiScaleRetention } from '../../src/zoo/ssm/retnet.js';
import { expectRel, paramGrads, sampler, valuesAndGrads } from './helpers.js';

describe('retention forms', () => {
  it.each([
    [12, 4],
    [13, 5],
    [6, 16],
  ])('n = %i, chunk %i: parallel = recurrent = chunkwise, values and gradients (float64)', (n, B) => {
    tidy(() => {
      const s = sampler(n * B);
      const [b, h, dk, dv] = [2, 3, 4, 6];
      const xs = [s.normal([b, h, n, dk]), s.normal([b, h, n, dk]), s.normal([b, h, n, dv])];
      const ws = [s.normal([b, h, n, dv])];
      const g = [0.9, 0.6, 0.97];
      const [par, gp] = valuesAndGrads((q, k, v) => [retentionParallel(q!, k!, v!, g)], xs, ws);
      const [rec, gr] = valuesAndGrads((q, k, v) => [retentionRecurrent(q!, k!, v!, g)[0]], xs, ws);
      const [chk, gc] = valuesAndGrads((q, k, v) => [retentionChunkwise(q!, k!, v!, g, B)], xs, ws);
      expectRel(rec[0]!, par[0]!, 1e-10, 'recurrent');
      expectRel(chk[0]!, par[0]!, 1e-10, 'chunkwise');
      ['q', 'k', 'v'].forEach((nm, i) => {
        expectRel(gr[i]!, gp[i]!, 1e-10, `recurrent d${nm}`);
        expectRel(gc[i]!, gp[i]!, 1e-10, `chunkwise d${nm}`);
      });
    });
  });

  it('multi-scale decays γ = 1 − 2^(−5−h)', () => {
    expect(retentionGammas(3)).toEqual([1 - 1 / 32, 1 - 1 / 64, 1 - 1 / 128]);
  });

  it('chunkwise peak memory grows linearly in n, the parallel form’s as n²', () => {
    const peak = (n: number, f: (q: Tensor, k: Tensor, v: Tensor) => Tensor): number =>
      tidy(() => {
        const s = sampler(1);
        const xs = [s.normal([1, 2, n, 8]), s.normal([1, 2, n, 8]), s.normal([1, 2, n, 8])].map((x) => astype(x, 'f32'));
        const before = memory().liveBytes;
        resetPeakMemory();
        (grad((q, k, v) => sum(f(q!, k!, v!)), { argnums: [0, 1, 2] })(...xs) as Tensor[]).forEach((t) => t.dispose());
        return memory().peakBytes - before;
      });
    const g = [0.9, 0.95];
    const chunk = (q: Tensor, k: Tensor, v: Tensor) => retentionChunkwise(q, k, v, g, 16);
    const par = (q: Tensor, k: Tensor, v: Tensor) => retentionParallel(q, k, v, g);
    const rc = peak(512, chunk) / peak(128, chunk);
    const rp = peak(512, par) / peak(128, par);
    expect(rc).toBeGreaterThan(3);
    expect(rc).toBeLessThan(5.5);
    expect(rp).toBeGreaterThan(10);
  });
});

describe('MultiScaleRetention (mixer)', () => {
  it('the three modes give the same outputs and parameter gradients; decoding equals the full pass', () => {
    tidy(() => {
      const x = sampler(2).normal([2, 9, 8]);
      const w = sampler(3).normal([2, 9, 8]);
      const run = (mode: 'chunkwise' | 'parallel' | 'recurrent') => {
        const m = new MultiScaleRetention(8, { key: randomKey(4), heads: 2, chunk: 4, mode, dtype: 'f64' });
        const y = m.forward(x).toF64();
        const g = paramGrads(m, () => sum(mul(m.forward(x), w)));
        nn.dispose(m);
        return { y, g };
      };
      const par = run('parallel');
      for (const mode of ['chunkwise', 'recurrent'] as const) {
        const r = run(mode);
        expectRel(r.y, par.y, 1e-10, `${mode} output`);
        for (const name of Object.keys(par.g)) expectRel(r.g[name]!, par.g[name]!, 1e-10, `${mode} d${name}`);
      }
      const m = new MultiScaleRetention(8, { key: randomKey(4), heads: 2, chunk: 4, dtype: 'f64' });
      let st = m.initState(2);
      const ys: Tensor[] = [];
      for (let t = 0; t < 9; t++) {
        const [y, next] = m.step(slice(x, [null, t]), st);
        ys.push(y);
        st = next;
      }
      st.dispose();
      expectRel(stack(ys, 1), m.forward(x), 1e-10, 'decode vs full');
      nn.dispose(m);
    });
  });
});
