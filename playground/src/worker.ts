/**
 * The training worker: runs a task in chunks of steps, posting losses after
 * each chunk and yielding to the event loop in between, so stop, resume,
 * sample and save messages are handled while a model trains.
 */
import { DiffusionTask, VqRace } from './tasks.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { ATTENTION_FORMS, timeAttention } from './attentionTiming.js';
import { tidy } from '../../src/core/memory.js';
import { randomKey } from '../../src/ops/random.js';
import { dispose } from '../../src/nn/module.js';
import { LmTask } from './lmTask.js';
import { readF64 } from './read.js';
import { FlowTask, NF_METHOD } from './flowTask.js';
import { exactDensityMap, odeDensityMap } from './density.js';
import { compareSamplers } from './compare.js';

const post = (m: FromWorker, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let task: DiffusionTask | FlowTask | null = null;
let target = 0;
let running = false;
let race: VqRace | null = null;
let raceTarget = 0;
let lm: LmTask | null = null;
let lmTarget = 0;
let lmEvery = 50;
let lmRunning = false;
let loopId = 0;
let lmLoopId = 0;

function backendLine(): string {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const gpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  return `CPU (WebAssembly${isolated ? ', threads available: cross-origin isolated' : ', single thread: not cross-origin isolated'}); WebGPU ${gpu ? 'offered by this browser' : 'not offered'}`;
}

/** The diffusion loop; `id` names its chain, so a restart or resume during an awaited chunk never leaves two chains running. */
async function loop(id: number): Promise<void> {
  if (id !== loopId || !running || !task) return;
  if (task.step >= target) {
    running = false;
    post({ type: 'done', step: task.step });
    return;
  }
  const t0 = performance.now();
  const n = Math.min(10, target - task.step);
  try {
    const t = task;
    const losses = await t.train(n);
    if (t === task) post({ type: 'loss', step: t.step, losses, stepsPerSec: (1000 * n) / (performance.now() - t0) });
    if (id !== loopId) return; // a new chain took over while the chunk ran
  } catch (e) {
    running = false;
    post({ type: 'error', message: String((e as Error).message ?? e) });
    return;
  }
  setTimeout(() => void loop(id), 0);
}

function vqLoop(): void {
  if (!race || race.step >= raceTarget) return;
  try {
    const metrics = race.train(Math.min(25, raceTarget - race.step));
    post({ type: 'vq', step: race.step, metrics });
  } catch (e) {
    post({ type: 'error', message: String((e as Error).message ?? e) });
    return;
  }
  setTimeout(vqLoop, 0);
}

/** The LM panel's loop: chunks of 5 steps, a sample every `lmEvery` steps and at the end. */
async function lmLoop(id: number): Promise<void> {
  if (id !== lmLoopId || !lmRunning || !lm) return;
  try {
    if (lm.step >= lmTarget) {
      lmRunning = false;
      post({ type: 'lmSample', step: lm.step, text: await lm.sample('The ') });
      post({ type: 'lmDone', step: lm.step });
      return;
    }
    const t0 = performance.now();
    const n = Math.min(5, lmTarget - lm.step);
    const losses = await lm.train(n);
    if (id !== lmLoopId) return; // a new chain took over while the chunk ran
    post({ type: 'lmLoss', step: lm.step, losses, tokensPerSec: (1000 * n * lm.tokensPerStep) / (performance.now() - t0), vocab: lm.tokenizer.vocabSize });
    if (lm.step % lmEvery < n && lm.step < lmTarget) post({ type: 'lmSample', step: lm.step, text: await lm.sample('The ') });
  } catch (e) {
    lmRunning = false;
    post({ type: 'error', message: String((e as Error).message ?? e) });
    return;
  }
  setTimeout(() => void lmLoop(id), 0);
}

self.onmessage = async (ev: MessageEvent<ToWorker>): Promise<void> => {
  const m = ev.data;
  try {
    switch (m.type) {
      case 'train':
        if (task) dispose(task.net);
        task = m.method === NF_METHOD ? new FlowTask({ dataset: m.dataset, lr: m.lr, seed: m.seed, points: m.points }) : new DiffusionTask({ dataset: m.dataset, method: m.method, lr: m.lr, seed: m.seed, points: m.points });
        target = m.steps;
        running = true;
        await loop(++loopId);
        break;
      case 'stop':
        running = false;
        if (race) raceTarget = race.step;
        break;
      case 'resume':
        if (task && !running) {
          running = true;
          await loop(++loopId);
        }
        break;
      case 'sample': {
        if (!task) throw new Error('train a model first');
        // the normalising flow has one exact sampler: the inverse pass (the page disables the sampler and NFE)
        const s = task instanceof FlowTask ? await task.sample(m.n) : await task.sample(m.sampler, m.nfe, m.n);
        const data = await readF64(tidy(() => task!.sampleData(randomKey(123), m.n)));
        post({ type: 'samples', points: s.points, trajectories: s.trajectories, data, nfe: s.nfe, sampler: task instanceof FlowTask ? 'inverse pass of the flow, through its layers' : m.sampler });
        break;
      }
      case 'density': {
        const t = task;
        if (!t) throw new Error('train a model first');
        const t0 = performance.now();
        const map = t instanceof FlowTask ? await exactDensityMap((x) => t.logProb(x), { method: 'exact change of variables of the Real NVP, 64×64 grid' }) : await odeDensityMap(t.denoiser());
        post({ type: 'density', map, ms: performance.now() - t0 }, [map.logp.buffer]);
        break;
      }
      case 'compare': {
        if (!task) throw new Error('train a model first');
        if (task instanceof FlowTask) throw new Error('the normalising flow has one exact sampler (the inverse pass): nothing to compare');
        post({ type: 'compare', comparison: await compareSamplers(task, m.nfe, m.n), nfe: m.nfe });
        break;
      }
      case 'save': {
        if (!task) throw new Error('train a model first');
        const bytes = await task.weights();
        post({ type: 'weights', bytes }, [bytes.buffer]);
        break;
      }
      case 'attention': {
        // one (n, form) per turn of the event loop, so a stop still gets through
        const jobs = m.lengths.flatMap((n) => ATTENTION_FORMS.map((form) => ({ n, form })));
        const next = (): void => {
          const job = jobs.shift();
          if (!job) return post({ type: 'attentionDone' });
          const r = timeAttention(job.form, job.n);
          post({ type: 'attention', n: job.n, form: job.form, ms: r.ms, peakBytes: r.peakBytes });
          setTimeout(next, 0);
        };
        next();
        break;
      }
      case 'lmTrain':
        if (lm) dispose(lm.model);
        lm = new LmTask({ mixer: m.mixer, size: m.size, text: m.text, lr: m.lr });
        lmTarget = m.steps;
        lmEvery = Math.max(1, m.sampleEvery);
        lmRunning = true;
        await lmLoop(++lmLoopId);
        break;
      case 'lmStop':
        lmRunning = false;
        break;
      case 'lmSample':
        if (!lm) throw new Error('train a language model first');
        post({ type: 'lmSample', step: lm.step, text: await lm.sample(m.prompt) });
        break;
      case 'lmStates': {
        if (!lm) throw new Error('train a language model first');
        const r = await lm.stateNorms(m.prompt);
        post({ type: 'lmStates', chars: r.chars, series: r.series });
        break;
      }
      case 'lmAttention': {
        if (!lm) throw new Error('train a language model first');
        post({ type: 'lmAttention', maps: await lm.attentionMaps(m.prompt) });
        break;
      }
      case 'lmSave': {
        if (!lm) throw new Error('train a language model first');
        const bytes = lm.weights();
        post({ type: 'weights', bytes }, [bytes.buffer]);
        break;
      }
      case 'vq':
        race = new VqRace(m.codes);
        raceTarget = m.steps;
        vqLoop();
        break;
    }
  } catch (e) {
    post({ type: 'error', message: String((e as Error).message ?? e) });
  }
};

post({ type: 'ready', backend: backendLine() });
