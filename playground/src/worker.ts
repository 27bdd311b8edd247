/**
 * The training worker: runs a task in chunks of steps, posting losses after
 * each chunk and yielding to the event loop in between, so stop, resume,
 * sample and save messages are handled while a model trains.
 */
import { DiffusionTask, VqRace, diffusionWeightsConfig } from './tasks.js';
import type { BackendChoice, FromWorker, ToWorker } from './protocol.js';
import { ATTENTION_FORMS, timeAttention } from './attentionTiming.js';
import { cpu, getDefaultBackend, nn, parseSafetensors, randomKey, setDefaultBackend, tidy, webgpu, webgpuUnavailableReason, type Safetensors } from '../../src/index.js';
import { LmTask, lmWeightsConfig } from './lmTask.js';
import { readF64 } from './read.js';
import { FlowTask, NF_METHOD, flowWeightsConfig } from './flowTask.js';
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

const { dispose } = nn;
const message = (e: unknown): string => String((e as Error).message ?? e);

function cpuLine(): string {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return `CPU (WebAssembly${isolated ? ', threads available: cross-origin isolated' : ', single thread: not cross-origin isolated'})`;
}

/**
 * Make new tensors go to the chosen backend: 'auto' takes WebGPU when
 * navigator.gpu gives an adapter, 'webgpu' says why when it cannot. The
 * diffusion and LM tasks train there; the VQ race and the attention timing
 * stay on the CPU (onCpu), where the timing's memory counts mean something.
 */
async function chooseBackend(which: BackendChoice): Promise<FromWorker & { type: 'ready' }> {
  const offered = typeof navigator !== 'undefined' && 'gpu' in navigator;
  let notice: string | undefined;
  let why = offered ? 'WebGPU offered by this browser' : 'WebGPU not offered by this browser';
  if (which !== 'cpu') {
    try {
      const g = await webgpu();
      if (g) {
        setDefaultBackend(g);
        return { type: 'ready', backend: `WebGPU (${g.ctx.adapterName})`, gpu: true };
      }
      // the library's reason carries hints for Node (Vulkan drivers); in a page the browser decides
      if (offered) why = `WebGPU offered but no adapter (${webgpuUnavailableReason().split(' (')[0]})`;
    } catch (e) {
      why = `WebGPU failed: ${message(e)}`;
    }
    if (which === 'webgpu') notice = `${why}; running on the CPU`;
  }
  setDefaultBackend(cpu());
  return { type: 'ready', backend: `${cpuLine()}; ${which === 'cpu' ? 'chosen' : why}`, gpu: false, notice };
}

let ready: Promise<void> | null = null;
const onGpu = (): boolean => getDefaultBackend() !== cpu();

/** Run synchronous work with new tensors on the CPU, whatever the chosen backend. */
function onCpu<R>(fn: () => R): R {
  const prev = getDefaultBackend();
  setDefaultBackend(cpu());
  try {
    return fn();
  } finally {
    setDefaultBackend(prev);
  }
}

/**
 * A run on WebGPU failed (a kernel, a device loss): drop the models on the
 * device, go on on the CPU, tell the page; the caller restarts its run.
 * Returns false when the failure was not WebGPU's to blame (already on the CPU).
 */
function fallBackToCpu(e: unknown): boolean {
  if (!onGpu()) return false;
  running = false;
  lmRunning = false;
  loopId++;
  lmLoopId++;
  if (task) dispose(task.net);
  if (lm) dispose(lm.model);
  task = null;
  lm = null;
  setDefaultBackend(cpu());
  post({ type: 'ready', backend: `${cpuLine()}; WebGPU failed`, gpu: false, notice: `WebGPU failed (${message(e)}); the run restarted on the CPU` });
  return true;
}
const disposeAll = (st: Safetensors): void => Object.values(st.tensors).forEach((t) => t.dispose());
let lastTrain: (ToWorker & { type: 'train' }) | null = null;
let lastLmTrain: (ToWorker & { type: 'lmTrain' }) | null = null;

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
    if (id !== loopId) return; // superseded mid-chunk (its model replaced): not a failure of this chain
    running = false;
    if (fallBackToCpu(e) && lastTrain) return handle(lastTrain);
    post({ type: 'error', message: String((e as Error).message ?? e) });
    return;
  }
  setTimeout(() => void loop(id), 0);
}

function vqLoop(): void {
  if (!race || race.step >= raceTarget) return;
  try {
    const r = race;
    const metrics = onCpu(() => r.train(Math.min(25, raceTarget - r.step)));
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
    if (id !== lmLoopId) return; // superseded mid-chunk (its model replaced): not a failure of this chain
    lmRunning = false;
    if (fallBackToCpu(e) && lastLmTrain) return handle(lastLmTrain);
    post({ type: 'error', message: String((e as Error).message ?? e) });
    return;
  }
  setTimeout(() => void lmLoop(id), 0);
}

self.onmessage = (ev: MessageEvent<ToWorker>): Promise<void> => handle(ev.data);

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') {
    ready = chooseBackend(m.backend).then((r) => post(r));
    return ready;
  }
  await (ready ??= chooseBackend('auto').then((r) => post(r))); // a page that sent no init
  try {
    switch (m.type) {
      case 'train':
        lastTrain = m;
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
          const r = onCpu(() => timeAttention(job.form, job.n));
          post({ type: 'attention', n: job.n, form: job.form, ms: r.ms, peakBytes: r.peakBytes });
          setTimeout(next, 0);
        };
        next();
        break;
      }
      case 'lmTrain':
        lastLmTrain = m;
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
      case 'load': {
        const st = parseSafetensors(m.bytes);
        try {
          // a normalising flow or a diffusion model, as the metadata says; the task is rebuilt to match it
          const md = st.metadata;
          const common = { lr: m.lr, seed: 0, points: m.points };
          const build = md?.method === NF_METHOD ? () => new FlowTask({ ...flowWeightsConfig(md), ...common }) : () => new DiffusionTask({ ...diffusionWeightsConfig(md), ...common });
          const t = build(); // a file of another kind fails here, leaving the panel's model as it was
          t.loadWeights(st);
          running = false;
          loopId++;
          if (task) dispose(task.net);
          task = t;
          target = t.step;
          post({ type: 'loaded', method: md!.method!, dataset: t.config.dataset, step: t.step });
        } finally {
          disposeAll(st);
        }
        break;
      }
      case 'lmLoad': {
        const st = parseSafetensors(m.bytes);
        try {
          const cfg = lmWeightsConfig(st.metadata);
          const t = new LmTask({ ...cfg, text: m.text, lr: m.lr });
          t.loadWeights(st);
          lmRunning = false;
          lmLoopId++;
          if (lm) dispose(lm.model);
          lm = t;
          lmTarget = t.step;
          post({ type: 'lmLoaded', mixer: cfg.mixer, size: cfg.size, step: t.step });
        } finally {
          disposeAll(st);
        }
        break;
      }
      case 'lmSave': {
        if (!lm) throw new Error('train a language model first');
        const bytes = await lm.weights();
        post({ type: 'weights', bytes }, [bytes.buffer]);
        break;
      }
      case 'vq':
        race = onCpu(() => new VqRace(m.codes));
        raceTarget = m.steps;
        vqLoop();
        break;
    }
  } catch (e) {
    post({ type: 'error', message: String((e as Error).message ?? e) });
  }
}
