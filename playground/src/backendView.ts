/**
 * The page's side of two features: the backend choice in the header (auto /
 * CPU / WebGPU; the worker keeps one backend for its life, so a change
 * reloads the page with `?backend=`), and loading downloaded weights back
 * into the diffusion and language-model panels (file inputs whose bytes go
 * to the worker, which rebuilds the task the file's metadata names).
 */
import type { BackendChoice, FromWorker, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const CHOICES: readonly BackendChoice[] = ['auto', 'cpu', 'webgpu'];

/** The choice from the address (`?backend=cpu`), shown in the header's select; sends the worker its `init`. */
export function setupBackendChoice(send: (m: ToWorker) => void): void {
  const sel = $<HTMLSelectElement>('backend-choice');
  const asked = new URLSearchParams(location.search).get('backend') as BackendChoice | null;
  sel.value = asked && CHOICES.includes(asked) ? asked : 'auto';
  sel.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('backend', sel.value);
    location.href = url.href;
  });
  send({ type: 'init', backend: sel.value as BackendChoice });
}

/** The backend in use in the header, and a visible notice when WebGPU was asked for and not used. */
export function showBackend(m: FromWorker & { type: 'ready' }): void {
  const el = $('backend');
  el.textContent = `backend: ${m.backend}`;
  el.dataset.gpu = String(m.gpu === true);
  const notice = $('backend-notice');
  notice.textContent = m.notice ?? '';
  notice.hidden = !m.notice;
}

/**
 * File inputs `dm-load` and `lm-load`: the chosen file's bytes go to the
 * worker (transferred, not copied) with what the panel would train with.
 */
export function setupWeightLoading(worker: Worker, panel: { lr: () => number; lmLr: () => number; text: () => string; points: () => Float64Array | undefined }): void {
  const onFile = (id: string, status: string, message: (bytes: Uint8Array) => ToWorker): void => {
    const input = $<HTMLInputElement>(id);
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (!file) return;
      $(status).textContent = `loading ${file.name}…`;
      void file.arrayBuffer().then((buf) => {
        input.value = ''; // the same file can be chosen again
        const bytes = new Uint8Array(buf);
        worker.postMessage(message(bytes), [bytes.buffer]);
      });
    });
  };
  onFile('dm-load', 'dm-status', (bytes) => ({ type: 'load', bytes, lr: panel.lr(), points: panel.points() }));
  onFile('lm-load', 'lm-status', (bytes) => ({ type: 'lmLoad', bytes, text: panel.text(), lr: panel.lmLr() }));
}

/** After a load: the panel's selects follow the file's model (the worker rebuilt that one). */
export function showLoaded(m: FromWorker & ({ type: 'loaded' } | { type: 'lmLoaded' })): void {
  if (m.type === 'loaded') {
    $<HTMLSelectElement>('dm-method').value = m.method;
    $<HTMLSelectElement>('dm-data').value = m.dataset;
    // the sampler the panel picks for a freshly trained model of this method
    $<HTMLSelectElement>('dm-sampler').value = m.method === 'flow' ? 'flow-euler' : m.method === 'ddpm' ? 'ddpm' : 'heun';
    const status = $('dm-status');
    status.textContent = `loaded a ${m.method} model of ${m.dataset} (step ${m.step}): sample away`;
    status.dataset.loaded = String(m.step);
  } else {
    $<HTMLSelectElement>('lm-mixer').value = m.mixer;
    $<HTMLSelectElement>('lm-size').value = m.size;
    $<HTMLSelectElement>('lm-mixer').dispatchEvent(new Event('change'));
    const status = $('lm-status');
    status.textContent = `loaded a ${m.mixer} model, size ${m.size} (step ${m.step}): sample away`;
    status.dataset.loaded = String(m.step);
  }
}

/** A short fingerprint of sampled values (FNV-1a over their bytes): equal samples, equal digests. */
export function digest(values: Float64Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
