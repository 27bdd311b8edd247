/**
 * The source of a pool worker, as plain JavaScript text. It is started with
 * `new Worker(source, { eval: true })` in Node and from a Blob URL in
 * browsers, so it needs no file on disk, no bundler and no TypeScript loader
 * (a worker file would be `.ts` under vitest and `.js` once built).
 *
 * A worker receives { memory, ctrl, tid } (Node: workerData; browsers: the
 * first message), compiles the kernel modules published in the control block
 * against the shared memory, then loops: claim tasks until the job is
 * exhausted, spin briefly, sleep on the generation counter. See layout.ts for
 * the protocol; `ThreadPool.work` is the same claim loop on the calling thread.
 */
import { LAYOUT } from './layout.js';

export const WORKER_SOURCE = `'use strict';
const L = ${JSON.stringify(LAYOUT)};
function start(init) {
  const memory = init.memory, ctrl = init.ctrl, tid = init.tid;
  const I = new Int32Array(memory.buffer, ctrl, L.HEADER_INTS);
  const T = new Float64Array(memory.buffer, ctrl + L.TASKS, L.MAX_TASKS * L.SLOT);
  const fns = [];
  let loaded = 0;
  function sync() {
    const n = Atomics.load(I, L.NMODULES);
    for (; loaded < n; loaded++) {
      const ptr = I[L.MODULES + 2 * loaded] >>> 0, len = I[L.MODULES + 2 * loaded + 1];
      const mod = new WebAssembly.Module(new Uint8Array(memory.buffer, ptr, len).slice());
      const inst = new WebAssembly.Instance(mod, { env: { memory } });
      for (const d of WebAssembly.Module.exports(mod)) if (d.kind === 'function') fns.push(inst.exports[d.name]);
    }
  }
  function report(idx, e) {
    if (Atomics.compareExchange(I, L.ERROR, 0, idx + 1) !== 0) return;
    const text = new TextEncoder().encode('worker ' + tid + ': ' + String((e && e.stack) || e)).slice(0, L.ERRBYTES);
    new Uint8Array(memory.buffer, ctrl + L.ERRTEXT, L.ERRBYTES).set(text);
    Atomics.store(I, L.ERRLEN, text.length);
  }
  function run(idx) {
    const base = idx * L.SLOT;
    const id = T[base], n = T[base + 1];
    if (id >= fns.length) sync();
    const f = fns[id];
    if (f === undefined) throw new Error('unknown kernel id ' + id);
    const args = new Array(n + 1);
    args[0] = Atomics.load(I, L.SCRATCH + tid);
    for (let i = 0; i < n; i++) args[i + 1] = T[base + 2 + i];
    f.apply(undefined, args);
  }
  function work() {
    for (;;) {
      const w = Atomics.load(I, L.NEXT);
      const idx = w & 0xffff, count = w >>> 16;
      if (idx >= count) return;
      if (Atomics.compareExchange(I, L.NEXT, w, w + 1) !== w) continue;
      try { run(idx); } catch (e) { report(idx, e); }
      if (Atomics.add(I, L.DONE, 1) + 1 === count) Atomics.notify(I, L.DONE);
    }
  }
  // a module that fails to compile here fails again, and is reported, in the first task that needs it
  try { sync(); } catch (e) { /* retried by run() */ }
  Atomics.add(I, L.READY, 1);
  for (;;) {
    const seen = Atomics.load(I, L.GEN);
    if (Atomics.load(I, L.SHUTDOWN) !== 0) return;
    work();
    for (let s = L.SPIN; s > 0 && Atomics.load(I, L.GEN) === seen; s--);
    Atomics.wait(I, L.GEN, seen);
  }
}
if (typeof require === 'function' && typeof process === 'object') {
  start(require('node:worker_threads').workerData);
} else {
  self.onmessage = (ev) => { self.onmessage = null; start(ev.data); self.close(); };
}
`;
