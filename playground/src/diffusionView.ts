/**
 * The diffusion panel's additions on the page (main.ts wires them in):
 * a drawing pad whose strokes become the 'drawn' data set, the density heat
 * map under the samples, the sampler comparison as small scatter plots with
 * their scores, and the mode line that says which controls a normalising
 * flow ignores. The computations run in the worker (density.ts, compare.ts,
 * flowTask.ts); this file only turns their replies into pixels and text.
 */
import { drawScatter } from './scatter.js';
import { drawDensity } from './density.js';
import { DRAWN, strokesToPoints } from './drawn.js';
import { NF_METHOD } from './flowTask.js';
import type { FromWorker, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Pixels between consecutive points of a resampled stroke. */
const SPACING = 3;

export interface DiffusionExtras {
  /** the drawing as x, y pairs when `dataset` is the drawn one (undefined otherwise) */
  trainPoints(dataset: string): Float64Array | undefined;
  /** show a worker reply of the panel's additions; false when the message is none of them */
  onMessage(m: FromWorker): boolean;
}

/** A canvas the user draws strokes on with the mouse, pen or finger (pointer events). */
function drawPad(canvas: HTMLCanvasElement, onStroke: () => void): { strokes: number[][]; clear: () => void } {
  const strokes: number[][] = [];
  let current: number[] | null = null;
  const ctx = canvas.getContext('2d')!;
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  const redraw = (): void => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#2a6ebb';
    ctx.fillStyle = '#2a6ebb';
    ctx.lineWidth = 3;
    ctx.lineCap = 'round';
    for (const s of strokes) {
      ctx.beginPath();
      ctx.moveTo(s[0]!, s[1]!);
      for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i]!, s[i + 1]!);
      if (s.length === 2) ctx.fillRect(s[0]! - 1.5, s[1]! - 1.5, 3, 3);
      else ctx.stroke();
    }
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    current = [...at(e)];
    strokes.push(current);
    redraw();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!current) return;
    current.push(...at(e));
    redraw();
  });
  const end = (): void => {
    if (!current) return;
    current = null;
    onStroke();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return {
    strokes,
    clear: () => {
      strokes.length = 0;
      redraw();
    },
  };
}

/** Wire the drawing pad, density map, sampler comparison and the normalising flow's mode line. */
export function setupDiffusionExtras(send: (m: ToWorker) => void): DiffusionExtras {
  const dataSel = $<HTMLSelectElement>('dm-data');
  const methodSel = $<HTMLSelectElement>('dm-method');
  const status = $('dm-status');
  const note = $('dm-note');
  const heat = $<HTMLCanvasElement>('dm-heat');
  const scatter = $<HTMLCanvasElement>('dm-canvas');
  const densityNote = $('dm-density-note');
  const view = $('dm-compare-view');
  dataSel.add(new Option('drawn (draw below)', DRAWN));

  const pad = drawPad($<HTMLCanvasElement>('dm-draw'), () => {
    dataSel.value = DRAWN;
    $('dm-draw-note').textContent = `${pad.strokes.length} stroke${pad.strokes.length > 1 ? 's' : ''}, ${strokesToPoints(pad.strokes, SPACING).length / 2} points: "train" fits the chosen model to them`;
  });
  $('dm-draw-clear').addEventListener('click', () => {
    pad.clear();
    $('dm-draw-note').textContent = 'draw strokes with the mouse';
  });

  // the normalising flow samples by one exact inverse pass: no sampler, NFE or comparison
  const applyMode = (): void => {
    const nf = methodSel.value === NF_METHOD;
    for (const id of ['dm-sampler', 'dm-nfe', 'dm-compare']) $<HTMLInputElement>(id).disabled = nf;
    note.textContent = nf ? 'normalising flow: sampling is one exact inverse pass, so the sampler, NFE and comparison do not apply; its density map is exact' : '';
  };
  methodSel.addEventListener('change', applyMode);
  applyMode();

  $('dm-start').addEventListener('click', () => {
    // a new model: the old samples, map and comparison no longer describe it
    for (const c of [heat, scatter]) c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
    delete heat.dataset.drawn;
    delete scatter.dataset.samples;
    densityNote.textContent = '';
    view.textContent = '';
    delete view.dataset.count;
    delete status.dataset.done;
    delete status.dataset.loss;
  });
  $('dm-density').addEventListener('click', () => {
    densityNote.textContent = 'computing the density map…';
    send({ type: 'density' });
  });
  $('dm-compare').addEventListener('click', () => {
    view.textContent = 'sampling with every sampler…';
    delete view.dataset.count;
    send({ type: 'compare', nfe: Number($<HTMLInputElement>('dm-nfe').value), n: 500 });
  });

  return {
    trainPoints: (dataset) => (dataset === DRAWN ? strokesToPoints(pad.strokes, SPACING) : undefined),
    onMessage(m) {
      if (m.type === 'density') {
        drawDensity(heat, m.map);
        heat.dataset.drawn = 'true';
        densityNote.textContent = `density map (brighter = more likely; the top 8 nats of log p): ${m.map.method}; ${(m.ms / 1000).toFixed(1)} s`;
        return true;
      }
      if (m.type === 'compare') {
        const c = m.comparison;
        const best = Math.min(...c.results.map((r) => r.sw));
        view.textContent = '';
        const head = document.createElement('p');
        head.textContent = `NFE ≈ ${m.nfe}, 500 samples each; ${c.metric}; two fresh data sets are ${c.floor.toFixed(3)} apart (the floor)`;
        view.append(head);
        for (const r of c.results) {
          const fig = document.createElement('figure');
          const cv = Object.assign(document.createElement('canvas'), { width: 150, height: 150 });
          drawScatter(cv, [{ points: c.data, color: 'rgba(0,0,0,0.2)', size: 1.5 }, { points: r.points, color: '#2a6ebb', size: 1.5 }]);
          const cap = document.createElement('figcaption');
          cap.textContent = `${r.sampler} · ${r.nfe} NFE · SW ${Number.isFinite(r.sw) ? r.sw.toFixed(3) : 'diverged'}`;
          if (r.sw === best) cap.classList.add('best');
          fig.append(cv, cap);
          view.append(fig);
        }
        view.dataset.count = String(c.results.length);
        return true;
      }
      return false;
    },
  };
}
