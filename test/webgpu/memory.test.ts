/**
 * Deterministic release on the GPU: a 1,000-step training loop leaves the
 * pool's live bytes at the baseline (every tensor freed by dispose/tidy, none
 * waiting for the garbage collector), with buffers reused rather than
 * created; and a Node process that used WebGPU exits by itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as nb from '../../src/index.js';
import { releaseWebGpu } from '../../src/backends/webgpu/index.js';
import { gpuForTests } from './device.js';

const { gpu, reason } = await gpuForTests();

describe.skipIf(!gpu)(gpu ? 'webgpu memory' : `webgpu memory (skipped: ${reason})`, () => {
  const g = gpu!;
  afterAll(async () => {
    await releaseWebGpu();
  });

  it('a 1,000-step training loop returns the pool to its baseline, reusing buffers', async () => {
    await g.sync();
    const base = g.pool.liveBytes;
    const created0 = g.pool.created;
    // linear least squares: few kernels per step, so 1,000 steps stay short on a CPU-emulated GPU
    let w1 = nb.tensor(Array.from({ length: 8 }, (_, i) => 0.3 * Math.sin(3.7 * i + 1)), [8, 1], { backend: g });
    let w2 = nb.tensor([0.1], [1, 1], { backend: g });
    const x = nb.tensor(Array.from({ length: 32 * 8 }, (_, i) => Math.sin(i)), [32, 8], { backend: g });
    const y = nb.tensor(Array.from({ length: 32 }, (_, i) => Math.cos(i)), [32, 1], { backend: g });
    const loss = (a: nb.Tensor, b: nb.Tensor): nb.Tensor => nb.mean(nb.square(nb.sub(nb.add(nb.matmul(x, a), b), y)));
    let first = 0;
    let last = 0;
    for (let step = 0; step < 1000; step++) {
      const [l, next] = nb.tidy(() => {
        const [lv, [g1, g2]] = nb.valueAndGrad(loss, { argnums: [0, 1] })(w1, w2) as [nb.Tensor, nb.Tensor[]];
        return [lv, [nb.sub(w1, nb.mul(g1!, 0.1)), nb.sub(w2, nb.mul(g2!, 0.1))]] as const;
      });
      w1.dispose();
      w2.dispose();
      [w1, w2] = next;
      if (step === 0) first = (await l.data())[0]!;
      if (step === 999) last = (await l.data())[0]!;
      l.dispose();
    }
    expect(last).toBeLessThan(first); // it trained
    for (const t of [w1, w2, x, y]) t.dispose();
    await g.sync();
    expect(g.pool.liveBytes).toBe(base);
    // thousands of tensors, a handful of buffers: the pool hands freed ones out again
    expect(g.pool.created - created0).toBeLessThan(100);
    expect(g.pool.reused).toBeGreaterThan(5_000);
  });

  it('a Node process using WebGPU exits by itself', () => {
    const script = fileURLToPath(new URL('./fixtures/exitScript.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000, env: process.env });
    expect(r.error, 'the child process did not exit in 60 s').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok 3/);
  });
});
