/**
 * nabla on WebGPU in a browser: headless Chromium (Debian's binary, driven by
 * playwright-core, `--enable-unsafe-webgpu` so SwiftShader serves
 * navigator.gpu) loads the sources through a Vite dev server on 127.0.0.1,
 * picks the backend with useBackend('auto'), and runs a matmul, a softmax,
 * FlashAttention, three AdamW steps and a loss-scaled loop through
 * trainStepAsync that skips an overflowing step (fixtures/browserWork.ts); the values
 * must equal the same work on the CPU. Skipped, with the reason, when
 * Chromium or an adapter is missing.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { expectClose } from '../helpers/check.js';
import { work, type BrowserResult } from './fixtures/browserWork.js';

const CHROMIUM = process.env.NABLA_CHROMIUM ?? '/usr/bin/chromium';
const reason = existsSync(CHROMIUM) ? '' : `no Chromium at ${CHROMIUM}`;

describe.skipIf(reason !== '')(reason ? `webgpu in the browser (skipped: ${reason})` : 'webgpu in the browser', () => {
  it('runs on navigator.gpu and matches the CPU', async () => {
    const { createServer } = await import('vite');
    const { chromium } = await import('playwright-core');
    const root = new URL('../..', import.meta.url).pathname;
    const server = await createServer({ root, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false }, optimizeDeps: { noDiscovery: true, include: [] } });
    await server.listen();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const { port } = server.httpServer!.address() as { port: number };
      await page.goto(`http://127.0.0.1:${port}/test/webgpu/fixtures/browser.html`);
      const handle = await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result, undefined, { timeout: 100_000 });
      const got = (await handle.jsonValue()) as BrowserResult & { error?: string };
      expect(got.error).toBeUndefined();
      expect(got.backend, "useBackend('auto') in Chromium with --enable-unsafe-webgpu").toBe('webgpu');
      const want = await work('cpu');
      expect(want.backend).toBe('cpu');
      for (const k of ['matmul', 'softmax', 'attention', 'losses', 'scaling'] as const) expectClose(got[k], want[k], 1e-5, `browser ${k}`);
      // the same steps skipped and the same scale schedule (the step after the overflow halves it)
      expect(got.scaling.filter((_, i) => i % 3 !== 0)).toEqual(want.scaling.filter((_, i) => i % 3 !== 0));
      expect(want.scaling.slice(3, 6)).toEqual([-1, 1, 15]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 150_000);
});
