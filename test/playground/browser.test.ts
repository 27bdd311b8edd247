/**
 * The playground in a real Chromium (playwright-core with Debian's
 * /usr/bin/chromium): load the page, train a flow on two moons until the
 * loss (mean of the last 10 steps) falls below 1.3, sample and check the
 * canvas holds the samples, compare the samplers at NFE 4 and draw its
 * density map (CPU run), draw a stroke and train a normalising flow on it
 * for 10 steps (finite loss, a non-blank density map), run the VQ race and the attention timing,
 * train a character Mamba LM until its loss is below 2.6 and check its
 * generated samples appeared, check that the attention-map button names
 * Mamba as having none and that a softmax LM draws non-blank heat maps,
 * download the flow's and the Mamba LM's weights, reload the page, load
 * them back and sample the same points and text as before the download
 * (and, in the CPU run, the same in Node from the downloaded files),
 * save screenshots (runs/
 * playground/), and assert the console stayed free of errors — once with
 * WebGPU enabled (SwiftShader) and once without. Skipped where Chromium is
 * absent (CI installs it).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPlayground } from '../../src/cli/playground.js';
import { parseSafetensors } from '../../src/index.js';
import { DiffusionTask, diffusionWeightsConfig } from '../../playground/src/tasks.js';
import { LmTask, lmWeightsConfig } from '../../playground/src/lmTask.js';
import { digest } from '../../playground/src/backendView.js';

/**
 * The page's downloads loaded in Node on the CPU: the same samples as the
 * page drew (the page's CPU backend runs the same WebAssembly kernels, and
 * threads never change a bit; a WebGPU run's float rounding differs, so
 * only the CPU run is compared).
 */
async function samplesInNode(dmFile: string, lmFile: string): Promise<{ dmDigest: string; lmSample: string }> {
  const dm = parseSafetensors(readFileSync(dmFile));
  const dmTask = new DiffusionTask({ ...diffusionWeightsConfig(dm.metadata), lr: 3e-3, seed: 0 });
  dmTask.loadWeights(dm);
  const lm = parseSafetensors(readFileSync(lmFile));
  const lmTask = new LmTask(lmWeightsConfig(lm.metadata));
  lmTask.loadWeights(lm);
  return { dmDigest: digest((await dmTask.sample('flow-euler', 16, 1000)).points), lmSample: await lmTask.sample('The ') };
}

const CHROMIUM = '/usr/bin/chromium';
const have = existsSync(CHROMIUM);
if (!have) console.log(`playground browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

describe.skipIf(!have)('playground in Chromium', () => {
  it.each([
    ['with WebGPU (SwiftShader)', true],
    ['without WebGPU', false],
  ])('%s: trains, samples, races the quantisers, trains a language model, no console errors', async (label, gpu) => {
    const { chromium } = await import('playwright-core');
    const server = await runPlayground({ port: 0, host: '127.0.0.1', hmr: false }, () => {});
    const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...(gpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu'])];
    const browser = await chromium.launch({ executablePath: CHROMIUM, args, headless: true });
    const errors: string[] = [];
    try {
      const page = await browser.newPage();
      const cpuFallbacks: string[] = []; // WebGPU ops with no WGSL kernel announce their CPU fallback once, by console.warn (not an error)
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
        if (/has no WGSL kernel/.test(m.text())) cpuFallbacks.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      // without WebGPU the page asks for it anyway (?backend=webgpu): it must say why not and run on the CPU
      await page.goto(server.url! + (gpu ? '' : '?backend=webgpu'));
      await page.waitForFunction(() => !document.getElementById('backend')!.textContent!.includes('…'), undefined, { timeout: 60_000 });
      const backend = await page.textContent('#backend');
      // 'auto': with WebGPU the diffusion and LM tasks train on it (the header names the adapter); without, on the CPU
      expect(backend).toMatch(gpu ? /backend: WebGPU \(/ : /backend: CPU \(WebAssembly/);
      expect(await page.getAttribute('#backend', 'data-gpu')).toBe(String(gpu));
      expect(await page.inputValue('#backend-choice')).toBe(gpu ? 'auto' : 'webgpu');
      expect(await page.isVisible('#backend-notice')).toBe(!gpu);
      if (!gpu) expect(await page.textContent('#backend-notice')).toMatch(/no adapter.*; running on the CPU|not offered.*; running on the CPU/);
      const tag = gpu ? 'webgpu' : 'cpu';
      // train a flow on two moons
      await page.fill('#dm-steps', '150');
      await page.click('#dm-start');
      await page.waitForFunction(() => document.getElementById('dm-status')!.dataset.done === 'true', undefined, { timeout: 240_000 });
      const loss = Number(await page.getAttribute('#dm-status', 'data-loss'));
      expect(loss).toBeLessThan(1.3); // from ≈ 1.7 at the start
      await page.fill('#dm-nfe', '16');
      await page.click('#dm-sample');
      await page.waitForFunction(() => document.getElementById('dm-canvas')!.dataset.samples === '1000', undefined, { timeout: 60_000 });
      const dmDigest = await page.getAttribute('#dm-canvas', 'data-digest');
      mkdirSync('runs/playground', { recursive: true });
      const [dmDownload] = await Promise.all([page.waitForEvent('download'), page.click('#dm-save')]);
      const dmWeights = `runs/playground/diffusion-${tag}.safetensors`;
      await dmDownload.saveAs(dmWeights);
      // the loss chart has data
      expect(await page.evaluate(() => document.querySelectorAll('#dm-loss canvas').length)).toBeGreaterThan(0);
      mkdirSync('runs/playground', { recursive: true });
      await page.screenshot({ path: `runs/playground/diffusion-${gpu ? 'webgpu' : 'cpu'}.png` });
      // compare every sampler at NFE 4 (small scatter plots with sliced-W2 scores), then the probability-flow ODE density map:
      // on the CPU only (≈ 2 s there; about a minute on SwiftShader's emulated GPU, where they also pass)
      if (!gpu) {
        await page.fill('#dm-nfe', '4');
        await page.click('#dm-compare');
        await page.waitForFunction(() => document.getElementById('dm-compare-view')!.dataset.count === '6', undefined, { timeout: 120_000 });
        expect(await page.textContent('#dm-compare-view')).toMatch(/flow-euler · 4 NFE · SW \d/);
        await page.click('#dm-density');
        await page.waitForFunction(() => document.getElementById('dm-heat')!.dataset.drawn === 'true', undefined, { timeout: 120_000 });
        expect(await page.textContent('#dm-density-note')).toMatch(/probability-flow ODE/);
      }
      // draw a stroke (the data set becomes 'drawn'), train a normalising flow on it for 10 steps, draw its exact density map
      await page.locator('#dm-draw').scrollIntoViewIfNeeded();
      const pad = (await page.locator('#dm-draw').boundingBox())!;
      await page.mouse.move(pad.x + 30, pad.y + 180);
      await page.mouse.down();
      await page.mouse.move(pad.x + 120, pad.y + 40, { steps: 8 });
      await page.mouse.move(pad.x + 210, pad.y + 180, { steps: 8 });
      await page.mouse.up();
      expect(await page.inputValue('#dm-data')).toBe('drawn');
      await page.selectOption('#dm-method', 'nf');
      expect(await page.isDisabled('#dm-nfe')).toBe(true); // the flow samples by its exact inverse: no NFE
      await page.fill('#dm-steps', '10');
      await page.click('#dm-start');
      await page.waitForFunction(() => document.getElementById('dm-status')!.dataset.done === 'true', undefined, { timeout: 240_000 });
      expect(Number.isFinite(Number(await page.getAttribute('#dm-status', 'data-loss')))).toBe(true);
      await page.click('#dm-density');
      await page.waitForFunction(() => document.getElementById('dm-heat')!.dataset.drawn === 'true', undefined, { timeout: 120_000 });
      expect(await page.textContent('#dm-density-note')).toMatch(/exact change of variables/);
      const bright = await page.evaluate(() => {
        const c = document.getElementById('dm-heat') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0; // the colour ramp runs from dark purple (low density) to yellow: count the green-lit pixels
        for (let i = 0; i < d.length; i += 4) if (d[i + 1]! > 100) n++;
        return [n, d.length / 4];
      });
      expect(bright[0]).toBeGreaterThan(0);
      expect(bright[0]).toBeLessThan(bright[1]!);
      await page.click('#dm-sample'); // the flow's samples, with their paths through the layers
      await page.waitForFunction(() => document.getElementById('dm-canvas')!.dataset.samples === '1000', undefined, { timeout: 60_000 });
      await page.screenshot({ path: `runs/playground/diffusion-drawn-${gpu ? 'webgpu' : 'cpu'}.png`, fullPage: true });
      // VQ race
      await page.click('button[data-panel="vq"]');
      await page.fill('#vq-steps', '25');
      await page.fill('#vq-codes', '32');
      await page.click('#vq-start');
      await page.waitForFunction(() => /step 25:/.test(document.getElementById('vq-status')!.textContent!), undefined, { timeout: 240_000 });
      await page.screenshot({ path: `runs/playground/vq-${gpu ? 'webgpu' : 'cpu'}.png` });
      // attention timing at two lengths
      await page.click('button[data-panel="attention"]');
      await page.fill('#at-lengths', '64,128'); // 7 forms: two short lengths keep this step quick
      await page.click('#at-start');
      await page.waitForFunction(() => document.getElementById('at-status')!.dataset.done === 'true', undefined, { timeout: 120_000 });
      expect(await page.textContent('#at-status')).toMatch(/n = 128: mamba/); // the last form at the last length
      await page.screenshot({ path: `runs/playground/attention-${gpu ? 'webgpu' : 'cpu'}.png` });
      // language model: a tiny Mamba on the built-in text, sampling every 20 steps
      await page.click('button[data-panel="lm"]');
      await page.selectOption('#lm-mixer', 'mamba');
      await page.fill('#lm-steps', '60');
      await page.fill('#lm-every', '20');
      await page.click('#lm-start');
      await page.waitForFunction(() => document.getElementById('lm-status')!.dataset.done === 'true', undefined, { timeout: 240_000 });
      const lmLoss = Number(await page.getAttribute('#lm-status', 'data-loss'));
      expect(lmLoss).toBeLessThan(2.6); // from ≈ ln(32) ≈ 3.5
      expect(await page.textContent('#lm-status')).toMatch(/\d+ tokens\/s/);
      expect(Number(await page.getAttribute('#lm-samples', 'data-count'))).toBeGreaterThanOrEqual(2);
      expect(await page.textContent('#lm-samples')).toMatch(/step 60: The /);
      const lmSample = await page.getAttribute('#lm-samples', 'data-last');
      const [lmDownload] = await Promise.all([page.waitForEvent('download'), page.click('#lm-save')]);
      const lmWeights = `runs/playground/lm-${tag}.safetensors`;
      await lmDownload.saveAs(lmWeights);
      expect(await page.evaluate(() => document.querySelectorAll('#lm-loss canvas').length)).toBeGreaterThan(0);
      // the Mamba layer's SSM and conv state norms over the prompt
      await page.fill('#lm-prompt', 'The mill');
      await page.click('#lm-states');
      await page.waitForFunction(() => document.getElementById('lm-states-chart')!.dataset.series === '2', undefined, { timeout: 60_000 });
      // attention maps: Mamba has none (the button and the note say so); a softmax LM after 10 steps draws one heat map per head
      expect(await page.textContent('#lm-attn-btn')).toMatch(/no attention maps for mamba/);
      await page.click('#lm-attn-btn');
      await page.waitForFunction(() => /no attention weights/.test(document.getElementById('lm-attn-note')!.textContent!), undefined, { timeout: 60_000 });
      await page.selectOption('#lm-mixer', 'softmax');
      await page.fill('#lm-steps', '10');
      await page.click('#lm-start');
      await page.waitForFunction(() => document.getElementById('lm-status')!.dataset.done === 'true', undefined, { timeout: 240_000 });
      await page.click('#lm-attn-btn');
      await page.waitForFunction(() => Number(document.getElementById('lm-attn')!.dataset.maps) > 0, undefined, { timeout: 60_000 });
      const heat = await page.evaluate(() =>
        Array.from(document.querySelectorAll<HTMLCanvasElement>('#lm-attn canvas')).map((c) => {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let blue = 0; // heat cells are bluish; the axis labels are grey
          for (let i = 0; i < d.length; i += 4) if (d[i + 2]! - d[i]! > 40) blue++;
          return blue;
        }),
      );
      expect(heat.length).toBe(Number(await page.getAttribute('#lm-attn', 'data-maps')));
      for (const blue of heat) expect(blue).toBeGreaterThan(0);
      await page.screenshot({ path: `runs/playground/lm-${gpu ? 'webgpu' : 'cpu'}.png`, fullPage: true });
      // the downloaded weights, loaded into a fresh page, sample exactly what the trained models sampled (same seeds)
      await page.reload();
      await page.waitForFunction(() => !document.getElementById('backend')!.textContent!.includes('…'), undefined, { timeout: 60_000 });
      expect(await page.getAttribute('#backend', 'data-gpu')).toBe(String(gpu));
      await page.setInputFiles('#dm-load', dmWeights);
      await page.waitForFunction(() => document.getElementById('dm-status')!.dataset.loaded === '150', undefined, { timeout: 60_000 });
      expect(await page.inputValue('#dm-sampler')).toBe('flow-euler');
      await page.fill('#dm-nfe', '16');
      await page.click('#dm-sample');
      await page.waitForFunction(() => document.getElementById('dm-canvas')!.dataset.samples === '1000', undefined, { timeout: 60_000 });
      expect(await page.getAttribute('#dm-canvas', 'data-digest')).toBe(dmDigest);
      await page.click('button[data-panel="lm"]');
      await page.setInputFiles('#lm-load', lmWeights);
      await page.waitForFunction(() => document.getElementById('lm-status')!.dataset.loaded === '60', undefined, { timeout: 60_000 });
      expect(await page.inputValue('#lm-mixer')).toBe('mamba');
      await page.fill('#lm-prompt', 'The ');
      await page.click('#lm-sample');
      await page.waitForFunction(() => document.getElementById('lm-samples')!.dataset.last !== undefined, undefined, { timeout: 60_000 });
      expect(await page.getAttribute('#lm-samples', 'data-last')).toBe(lmSample);
      if (!gpu) expect(await samplesInNode(dmWeights, lmWeights)).toEqual({ dmDigest, lmSample });
      if (errors.length) console.log(errors.join("\n"));
      expect(errors).toEqual([]);
      console.log(`playground ${label}: ${backend}; final loss ${loss.toFixed(3)}; ops that fell back to the CPU: ${cpuFallbacks.length ? cpuFallbacks.join('; ') : 'none'}`);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 600_000);
});
