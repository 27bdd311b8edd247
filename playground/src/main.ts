/**
 * The playground page: panels for 2-D diffusion and flows and for VQ
 * codebook usage; the models train in a Web Worker (worker.ts) so the page
 * stays responsive; charts by uPlot (small, fast, canvas-based, no
 * dependencies: fitting for live loss curves of thousands of points).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { drawScatter } from './scatter.js';
import { digest, setupBackendChoice, setupWeightLoading, showBackend, showLoaded } from './backendView.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { SAMPLERS, VQ_VARIANTS, type Method, type SamplerName } from './tasks.js';
import { ATTENTION_FORMS, ATTENTION_LABELS } from './attentionTiming.js';
import { LM_MIXERS, LM_SIZES, type LmMixer, type LmSize } from './lmTask.js';
import { renderAttentionMaps } from './heatmap.js';
import { setupDiffusionExtras } from './diffusionView.js';
import type { NfMethod } from './flowTask.js';
import type { AttentionMaps } from './attentionMaps.js';
import { TOY_DATASETS } from '../../src/zoo/data/toy2d.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker): void => worker.postMessage(m);
// the backend choice goes first: the worker picks its backend before anything runs (backendView.ts)
setupBackendChoice(send);

// tabs
document.querySelectorAll<HTMLButtonElement>('.tab').forEach((b) =>
  b.addEventListener('click', () => {
    document.querySelectorAll('.tab, .panel').forEach((e) => e.classList.remove('active'));
    b.classList.add('active');
    $(b.dataset.panel!).classList.add('active');
  }),
);

// diffusion panel
const dataSel = $<HTMLSelectElement>('dm-data');
for (const name of Object.keys(TOY_DATASETS)) dataSel.add(new Option(name, name, name === 'twoMoons', name === 'twoMoons'));
const samplerSel = $<HTMLSelectElement>('dm-sampler');
for (const s of SAMPLERS) samplerSel.add(new Option(s, s));
const lossData: [number[], number[]] = [[], []];
const lossPlot = new uPlot({ width: 460, height: 240, scales: { x: { time: false }, y: { distr: 3 } }, series: [{}, { label: 'loss', stroke: '#2a6ebb' }] }, lossData, $('dm-loss'));
const status = $('dm-status');
const canvas = $<HTMLCanvasElement>('dm-canvas');

$('dm-start').addEventListener('click', () => {
  lossData[0].length = 0;
  lossData[1].length = 0;
  const method = $<HTMLSelectElement>('dm-method').value as Method | NfMethod;
  samplerSel.value = method === 'flow' ? 'flow-euler' : method === 'ddpm' ? 'ddpm' : 'heun';
  send({ type: 'train', dataset: dataSel.value, method, steps: Number($<HTMLInputElement>('dm-steps').value), lr: Number($<HTMLInputElement>('dm-lr').value), seed: 0, points: extras.trainPoints(dataSel.value) });
  status.textContent = 'training…';
});
$('dm-stop').addEventListener('click', () => send({ type: 'stop' }));
$('dm-resume').addEventListener('click', () => send({ type: 'resume' }));
$('dm-sample').addEventListener('click', () => send({ type: 'sample', sampler: samplerSel.value as SamplerName, nfe: Number($<HTMLInputElement>('dm-nfe').value), n: 1000 }));
$('dm-save').addEventListener('click', () => send({ type: 'save' }));
setupWeightLoading(worker, {
  lr: () => Number($<HTMLInputElement>('dm-lr').value),
  lmLr: () => Number($<HTMLInputElement>('lm-lr').value),
  text: () => $<HTMLTextAreaElement>('lm-text').value,
  points: () => extras.trainPoints(dataSel.value),
});
// drawing pad, density map, sampler comparison, normalising-flow mode line (diffusionView.ts)
const extras = setupDiffusionExtras(send);

// VQ panel
const vqStep: number[] = [];
const usage: number[][] = VQ_VARIANTS.map(() => []);
const mse: number[][] = VQ_VARIANTS.map(() => []);
// one distinct colour per series: the 3 quantisers, the 7 attention forms
const colors = ['#c0392b', '#2a6ebb', '#27ae60', '#8e44ad', '#d35400', '#e84393', '#7f8c8d'];
const series = [{}, ...VQ_VARIANTS.map((v, i) => ({ label: v, stroke: colors[i] }))];
const usagePlot = new uPlot({ width: 460, height: 240, scales: { x: { time: false } }, series }, [vqStep, ...usage], $('vq-usage'));
const msePlot = new uPlot({ width: 460, height: 240, scales: { x: { time: false } }, series }, [vqStep, ...mse], $('vq-mse'));
$('vq-start').addEventListener('click', () => {
  vqStep.length = 0;
  usage.forEach((u) => (u.length = 0));
  mse.forEach((u) => (u.length = 0));
  send({ type: 'vq', steps: Number($<HTMLInputElement>('vq-steps').value), codes: Number($<HTMLInputElement>('vq-codes').value) });
  $('vq-status').textContent = 'training…';
});
$('vq-stop').addEventListener('click', () => send({ type: 'stop' }));

// attention panel: one series per form, indexed by the position of n in the list
let atLengths: number[] = [];
const atTime: (number | null)[][] = ATTENTION_FORMS.map(() => []);
const atMem: (number | null)[][] = ATTENTION_FORMS.map(() => []);
const atSeries = [{}, ...ATTENTION_FORMS.map((f, i) => ({ label: ATTENTION_LABELS[f], stroke: colors[i] }))];
const logScales = { x: { time: false, distr: 3 as const }, y: { distr: 3 as const } };
const atTimePlot = new uPlot({ width: 460, height: 240, scales: logScales, series: atSeries }, [[], ...atTime] as uPlot.AlignedData, $('at-time'));
const atMemPlot = new uPlot({ width: 460, height: 240, scales: logScales, series: atSeries }, [[], ...atMem] as uPlot.AlignedData, $('at-mem'));
$('at-start').addEventListener('click', () => {
  atLengths = $<HTMLInputElement>('at-lengths').value.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  atTime.forEach((s) => (s.length = 0));
  atMem.forEach((s) => (s.length = 0));
  atTime.forEach((s) => atLengths.forEach(() => s.push(null)));
  atMem.forEach((s) => atLengths.forEach(() => s.push(null)));
  send({ type: 'attention', lengths: atLengths });
  $('at-status').textContent = 'measuring…';
});

// language-model panel
for (const m of LM_MIXERS) $<HTMLSelectElement>('lm-mixer').add(new Option(m, m));
for (const [k, v] of Object.entries(LM_SIZES)) $<HTMLSelectElement>('lm-size').add(new Option(`${k} (d = ${v.dModel}, ${v.layers} layer${v.layers > 1 ? 's' : ''})`, k));
const lmData: [number[], number[]] = [[], []];
const lmPlot = new uPlot({ width: 460, height: 240, scales: { x: { time: false } }, series: [{}, { label: 'loss', stroke: '#2a6ebb' }] }, lmData, $('lm-loss'));
const lmStatus = $('lm-status');
const lmSamples = $('lm-samples');
$('lm-start').addEventListener('click', () => {
  lmData[0].length = 0;
  lmData[1].length = 0;
  lmSamples.textContent = '';
  delete lmStatus.dataset.done;
  delete lmSamples.dataset.count;
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  send({ type: 'lmTrain', mixer: $<HTMLSelectElement>('lm-mixer').value as LmMixer, size: $<HTMLSelectElement>('lm-size').value as LmSize, text: $<HTMLTextAreaElement>('lm-text').value, steps: num('lm-steps'), lr: num('lm-lr'), sampleEvery: num('lm-every') });
  lmStatus.textContent = 'training…';
});
$('lm-stop').addEventListener('click', () => send({ type: 'lmStop' }));
$('lm-sample').addEventListener('click', () => send({ type: 'lmSample', prompt: $<HTMLInputElement>('lm-prompt').value }));
$('lm-save').addEventListener('click', () => send({ type: 'lmSave' }));
$('lm-states').addEventListener('click', () => send({ type: 'lmStates', prompt: $<HTMLInputElement>('lm-prompt').value }));
// attention maps: softmax attention's weights, linear attention's normalised kernel weights; the recurrent mixers have none
let lmMaps: AttentionMaps | null = null;
const attnButton = $<HTMLButtonElement>('lm-attn-btn');
const attnLabel = (): void => {
  const m = $<HTMLSelectElement>('lm-mixer').value;
  attnButton.textContent = m === 'softmax' ? 'attention maps of the prompt' : m === 'linear' ? 'kernel weights of the prompt (linear attention)' : `no attention maps for ${m} (click for why)`;
};
$('lm-mixer').addEventListener('change', attnLabel);
attnLabel();
attnButton.addEventListener('click', () => send({ type: 'lmAttention', prompt: $<HTMLInputElement>('lm-prompt').value }));
$('lm-attn-layer').addEventListener('change', () => {
  if (lmMaps) renderAttentionMaps($('lm-attn'), lmMaps, Number($<HTMLSelectElement>('lm-attn-layer').value));
});
let lmStatesPlot: uPlot | null = null;

worker.onmessage = (ev: MessageEvent<FromWorker>): void => {
  const m = ev.data;
  switch (m.type) {
    case 'ready':
      showBackend(m);
      break;
    case 'loaded':
    case 'lmLoaded':
      showLoaded(m);
      break;
    case 'loss':
      m.losses.forEach((l, i) => {
        lossData[0].push(m.step - m.losses.length + i + 1);
        lossData[1].push(l);
      });
      lossPlot.setData(lossData);
      status.textContent = `step ${m.step}, loss ${m.losses[m.losses.length - 1]!.toFixed(4)}, ${m.stepsPerSec.toFixed(1)} steps/s`;
      // the chunk's mean, steadier than one step's loss (the browser test reads it)
      status.dataset.loss = String(m.losses.reduce((a, b) => a + b, 0) / m.losses.length);
      break;
    case 'done':
      status.textContent += ' — done';
      status.dataset.done = 'true';
      break;
    case 'samples':
      drawScatter(canvas, [{ points: m.data, color: 'rgba(0,0,0,0.25)' }, { points: m.points, color: '#2a6ebb' }], m.trajectories);
      canvas.dataset.samples = String(m.points.length / 2);
      canvas.dataset.digest = digest(m.points); // the browser test compares samples before and after loading weights
      status.textContent = `${m.sampler}: ${m.nfe} evaluation${m.nfe === 1 ? '' : 's'}`;
      break;
    case 'density':
    case 'compare':
      extras.onMessage(m);
      break;
    case 'weights': {
      const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'nabla-playground.safetensors' });
      a.click();
      URL.revokeObjectURL(url);
      break;
    }
    case 'vq':
      vqStep.push(m.step);
      VQ_VARIANTS.forEach((v, i) => {
        usage[i]!.push(m.metrics[v].usage);
        mse[i]!.push(m.metrics[v].mse);
      });
      usagePlot.setData([vqStep, ...usage]);
      msePlot.setData([vqStep, ...mse]);
      $('vq-status').textContent = `step ${m.step}: ` + VQ_VARIANTS.map((v) => `${v} ${(100 * m.metrics[v].usage).toFixed(0)}%`).join(', ');
      break;
    case 'attention': {
      const i = ATTENTION_FORMS.indexOf(m.form);
      const j = atLengths.indexOf(m.n);
      atTime[i]![j] = m.ms;
      atMem[i]![j] = Math.max(m.peakBytes, 1) / 2 ** 20;
      atTimePlot.setData([atLengths, ...atTime] as uPlot.AlignedData);
      atMemPlot.setData([atLengths, ...atMem] as uPlot.AlignedData);
      $('at-status').textContent = `n = ${m.n}: ${m.form} ${m.ms.toFixed(1)} ms, ${(m.peakBytes / 2 ** 20).toFixed(2)} MiB`;
      break;
    }
    case 'attentionDone':
      $('at-status').textContent += ' — done';
      $('at-status').dataset.done = 'true';
      break;
    case 'lmLoss':
      m.losses.forEach((l, i) => {
        lmData[0].push(m.step - m.losses.length + i + 1);
        lmData[1].push(l);
      });
      lmPlot.setData(lmData);
      lmStatus.textContent = `step ${m.step}, loss ${m.losses[m.losses.length - 1]!.toFixed(3)} (uniform over ${m.vocab} characters: ${Math.log(m.vocab).toFixed(2)}), ${Math.round(m.tokensPerSec)} tokens/s`;
      // the chunk's mean, steadier than one step's loss (the browser test reads it)
      lmStatus.dataset.loss = String(m.losses.reduce((a, b) => a + b, 0) / m.losses.length);
      break;
    case 'lmSample':
      lmSamples.textContent = `step ${m.step}: ${m.text.replace(/\n/g, ' ')}\n` + lmSamples.textContent;
      lmSamples.dataset.count = String(Number(lmSamples.dataset.count ?? 0) + 1);
      lmSamples.dataset.last = m.text;
      break;
    case 'lmStates': {
      // the number of series depends on the mixer and depth: a fresh chart each time
      lmStatesPlot?.destroy();
      const el = $('lm-states-chart');
      const stroke = (i: number): string => `hsl(${(i * 67) % 360} 60% 45%)`;
      lmStatesPlot = new uPlot(
        { width: 460, height: 240, scales: { x: { time: false } }, axes: [{ values: (_u, ticks) => ticks.map((t) => m.chars[t - 1] ?? '') }, {}], series: [{}, ...m.series.map((s, i) => ({ label: s.label, stroke: stroke(i) }))] },
        [m.chars.map((_, i) => i + 1), ...m.series.map((s) => s.norms)],
        el,
      );
      el.dataset.series = String(m.series.length);
      break;
    }
    case 'lmAttention': {
      lmMaps = m.maps;
      const sel = $<HTMLSelectElement>('lm-attn-layer');
      sel.replaceChildren(...m.maps.layers.filter((e) => e.kind).map((e) => new Option(`layer ${e.layer} (${e.mixer})`, String(e.layer))));
      const first = m.maps.layers.find((e) => e.kind);
      $('lm-attn-note').textContent = m.maps.note ?? (first?.kind === 'kernel' ? 'linear attention: φ(q)·φ(k), each row divided by its sum (the weights its output uses)' : 'softmax(QKᵀ/√d + causal mask), per head');
      renderAttentionMaps($('lm-attn'), m.maps, first?.layer ?? 0);
      break;
    }
    case 'lmDone':
      lmStatus.textContent += ' — done';
      lmStatus.dataset.done = 'true';
      break;
    case 'error':
      status.textContent = `error: ${m.message}`;
      console.warn('worker:', m.message);
      break;
  }
};
