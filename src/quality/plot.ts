/**
 * The paper-style figures of the quality benchmarks, drawn with src/plot:
 *
 * - `accuracyByWidth`: Zoology's Figure 2 — one panel per sequence length,
 *   accuracy (best over the learning-rate sweep) against model width on a
 *   log₂ axis, one line per mixer;
 * - `accuracyByLength`: Mamba's Table 2 / Figure for induction heads —
 *   accuracy against test length (log₂), one line per mixer, with the
 *   training length marked.
 */
import { Canvas, Frame, PALETTE, type LineSeries, type Range } from '../plot/index.js';
import type { QualityRecord } from './records.js';

/**
 * Lines with a disc at every point (a single point still shows), the first
 * series drawn largest so that points which coincide (several mixers at
 * 100%) stay visible as concentric rings.
 */
function linesWithMarkers(series: readonly LineSeries[], o: { width: number; height: number; x: Range; y: Range; title: string; xLabel: string; yLabel: string }): Canvas {
  const f = new Frame(o);
  f.drawAxes();
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const px = Array.from(s.xs ?? [], (v) => f.px(v));
    const py = Array.from(s.ys, (v) => f.py(v));
    if (px.length > 1) f.canvas.polyline(px, py, color, { width: s.width ?? 2 });
    const r = Math.max(2, 6 - 1.5 * k);
    px.forEach((x, i) => f.canvas.disc(x, py[i]!, r, color));
  });
  f.legend(series.filter((s) => s.label).map((s, k) => ({ label: s.label!, color: s.color ?? PALETTE[k % PALETTE.length]! })));
  return f.canvas;
}

/** Tiles panels side by side on one canvas. */
function tile(panels: Canvas[]): Canvas {
  const w = panels.reduce((s, p) => s + p.width, 0);
  const h = Math.max(...panels.map((p) => p.height));
  const out = new Canvas(w, h);
  let x0 = 0;
  for (const p of panels) {
    for (let y = 0; y < p.height; y++) out.data.set(p.data.subarray(y * p.width * 4, (y + 1) * p.width * 4), (y * w + x0) * 4);
    x0 += p.width;
  }
  return out;
}

/** The best accuracy over the learning-rate sweep of each (mixer, width, length). */
export function bestOverLr(records: readonly QualityRecord[]): QualityRecord[] {
  const best = new Map<string, QualityRecord>();
  for (const r of records) {
    const k = `${r.mixer}|${r.dModel}|${r.seqLen}|${r.testLen ?? r.seqLen}`;
    const b = best.get(k);
    if (!b || r.accuracy > b.accuracy) best.set(k, r);
  }
  return [...best.values()];
}

const mixersOf = (rs: readonly QualityRecord[]): string[] => [...new Set(rs.map((r) => r.mixer))];

/** Accuracy vs model width, one panel per training sequence length (Zoology Fig. 2). */
export function accuracyByWidth(records: readonly QualityRecord[], title = 'MQAR'): Canvas {
  const rs = bestOverLr(records.filter((r) => (r.testLen ?? r.seqLen) === r.seqLen));
  if (rs.length === 0) throw new Error('accuracyByWidth: no records to draw');
  const mixers = mixersOf(rs);
  const lens = [...new Set(rs.map((r) => r.seqLen))].sort((a, b) => a - b);
  const widths = rs.map((r) => Math.log2(r.dModel));
  const x = { lo: Math.min(...widths) - 0.25, hi: Math.max(...widths) + 0.25 };
  const panels = lens.map((n) => {
    const series: LineSeries[] = mixers.map((m, k) => {
      const pts = rs.filter((r) => r.mixer === m && r.seqLen === n).sort((a, b) => a.dModel - b.dModel);
      return { xs: pts.map((r) => Math.log2(r.dModel)), ys: pts.map((r) => r.accuracy), label: m, color: PALETTE[k % PALETTE.length]!, width: 2 };
    });
    return linesWithMarkers(series.filter((s) => s.ys.length > 0), { width: 420, height: 340, x, y: { lo: 0, hi: 1.25 }, title: `${title}  seq len ${n}`, xLabel: 'log2 model dim', yLabel: 'accuracy' });
  });
  return tile(panels);
}

/** Accuracy vs test length on a log₂ axis (induction-heads extrapolation). */
export function accuracyByLength(records: readonly QualityRecord[], title = 'induction heads'): Canvas {
  const rs = bestByTrainLr(records);
  if (rs.length === 0) throw new Error('accuracyByLength: no records to draw');
  const mixers = mixersOf(rs);
  const series: LineSeries[] = mixers.map((m, k) => {
    const pts = rs.filter((r) => r.mixer === m).sort((a, b) => (a.testLen ?? a.seqLen) - (b.testLen ?? b.seqLen));
    return { xs: pts.map((r) => Math.log2(r.testLen ?? r.seqLen)), ys: pts.map((r) => r.accuracy), label: m, color: PALETTE[k % PALETTE.length]!, width: 2 };
  });
  const train = rs[0]!.seqLen;
  const lens = rs.map((r) => Math.log2(r.testLen ?? r.seqLen));
  return linesWithMarkers(series, { width: 640, height: 400, x: { lo: Math.min(...lens) - 0.3, hi: Math.max(...lens) + 0.3 }, y: { lo: 0, hi: 1.25 }, title: `${title}  (trained at ${train})`, xLabel: 'log2 test length', yLabel: 'accuracy' });
}

/**
 * For extrapolation the learning rate is chosen once, by accuracy at the
 * training length, and that run is followed to every test length (choosing
 * per test length would peek at the test data).
 */
export function bestByTrainLr(records: readonly QualityRecord[]): QualityRecord[] {
  const chosen = new Map<string, number>();
  const accAtTrain = new Map<string, number>();
  for (const r of records) {
    if ((r.testLen ?? r.seqLen) !== r.seqLen) continue;
    const k = `${r.mixer}|${r.dModel}|${r.seqLen}`;
    if (!chosen.has(k) || r.accuracy > accAtTrain.get(k)!) {
      chosen.set(k, r.lr);
      accAtTrain.set(k, r.accuracy);
    }
  }
  return records.filter((r) => chosen.get(`${r.mixer}|${r.dModel}|${r.seqLen}`) === r.lr);
}
