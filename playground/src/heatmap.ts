/**
 * Heat maps on a canvas for the LM panel's attention maps: one small canvas
 * per head, T×T cells (row i the query at character i, column j the key at
 * character j), the prompt's characters along both axes. Colour runs from
 * white (0) through blue to near-black at the map's largest weight, with a
 * square-root scale so that weights of a few percent still show (the title
 * gives the largest weight, so the scale can be read).
 */
import type { AttentionMaps } from './attentionMaps.js';

/** Visible stand-ins for characters that would not show on an axis. */
const shown = (c: string): string => (c === ' ' ? '␣' : c === '\n' ? '⏎' : c === '\t' ? '⇥' : c);

/** White → #2a6ebb → #0b1e3f for t in [0, 1]. */
function colour(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [255, 255, 255],
    [42, 110, 187],
    [11, 30, 63],
  ];
  const x = Math.min(1, Math.max(0, t)) * 2;
  const i = Math.min(1, Math.floor(x));
  const f = x - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as [number, number, number];
}

export interface HeatmapOptions {
  title?: string;
  /** cell size in CSS pixels (default: fits about 220 px) */
  cell?: number;
}

/** Draw one T×T map (row-major) with `labels` (length T) on both axes; returns the number of cells with a visible weight. */
export function drawHeatmap(canvas: HTMLCanvasElement, map: ArrayLike<number>, labels: string[], opts: HeatmapOptions = {}): number {
  const T = labels.length;
  if (map.length !== T * T) throw new Error(`drawHeatmap: a map of ${map.length} values for ${T} labels (needs ${T * T})`);
  const cell = opts.cell ?? Math.max(4, Math.min(16, Math.floor(220 / Math.max(1, T))));
  const margin = 14;
  const top = margin + (opts.title ? 14 : 0);
  canvas.width = margin + T * cell + 2;
  canvas.height = top + T * cell + 2;
  const ctx = canvas.getContext('2d');
  if (!ctx) return 0;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
  let visible = 0;
  const img = ctx.createImageData(T * cell, T * cell);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const v = max > 0 ? Math.sqrt(Math.max(0, map[i * T + j]!) / max) : 0;
      if (v > 0.05) visible++;
      const [r, g, b] = colour(v);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const o = 4 * ((i * cell + y) * T * cell + j * cell + x);
          img.data[o] = r;
          img.data[o + 1] = g;
          img.data[o + 2] = b;
          img.data[o + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(img, margin, top);
  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = `${Math.min(11, cell + 2)}px monospace`;
  labels.forEach((c, k) => {
    ctx.fillText(shown(c), margin + k * cell + cell / 2, top - 7); // keys along the top
    ctx.fillText(shown(c), margin / 2, top + k * cell + cell / 2); // queries down the left
  });
  if (opts.title) {
    ctx.textAlign = 'left';
    ctx.font = '11px sans-serif';
    ctx.fillText(`${opts.title} (max ${max.toFixed(2)})`, 2, 7);
  }
  return visible;
}

/**
 * Replace the contents of `container` with one heat map per head of `layer`;
 * sets data-maps (maps drawn) and data-visible (cells with a visible weight)
 * for tests. Returns the number of maps.
 */
export function renderAttentionMaps(container: HTMLElement, r: AttentionMaps, layer: number): number {
  container.replaceChildren();
  const entry = r.layers[layer];
  let visible = 0;
  const what = entry?.kind === 'kernel' ? 'φ(q)·φ(k), row-normalised' : 'softmax(QKᵀ/√d)';
  for (const [h, map] of (entry?.maps ?? []).entries()) {
    const c = document.createElement('canvas');
    c.className = 'heatmap';
    c.title = `layer ${layer}, head ${h}: ${what}; rows are queries, columns keys`;
    visible += drawHeatmap(c, map, r.chars, { title: `head ${h}` });
    container.append(c);
  }
  const n = entry?.maps.length ?? 0;
  container.dataset.maps = String(n);
  container.dataset.visible = String(visible);
  return n;
}
