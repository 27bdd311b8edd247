/**
 * The PNG renderer: the font covers printable ASCII, text and shapes land on
 * the pixels they should, ticks are nice, every chart encodes to a PNG that
 * decodes to the same pixels, and bad arguments are refused by name.
 */
import { describe, expect, it } from 'vitest';
import {
  Canvas,
  decodePng,
  formatTick,
  glyph,
  hasGlyph,
  heatmap,
  histogram2d,
  imageGrid,
  linePlot,
  logTicks,
  niceTicks,
  scatterPlot,
  textWidth,
  trajectoryPlot,
  viridis,
  GLYPH_H,
  GLYPH_W,
  type Rgb,
} from '../../src/plot/index.js';

const isWhite = (c: Rgb): boolean => c[0] === 255 && c[1] === 255 && c[2] === 255;

function inkCount(c: Canvas, x0 = 0, y0 = 0, x1 = c.width, y1 = c.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (!isWhite(c.get(x, y))) n++;
  return n;
}

describe('font', () => {
  it('has a glyph for every printable ASCII character, and distinct ones for letters and digits', () => {
    for (let code = 32; code < 127; code++) expect(hasGlyph(String.fromCharCode(code)), String.fromCharCode(code)).toBe(true);
    const alnum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const shapes = new Set([...alnum].map((ch) => glyph(ch).join('')));
    expect(shapes.size).toBe(alnum.length);
    expect(glyph(' ').every((v) => v === 0)).toBe(true);
    // an unknown character draws as a box: the outline lit, the inside dark
    const box = glyph('\u2603');
    expect(box[0]).toBe(1);
    expect(box[GLYPH_W + 1]).toBe(0);
    expect(textWidth('ab', 2)).toBe((2 * (GLYPH_W + 1) - 1) * 2);
  });

  it('draws text at its anchor: the lit cells of "1" are exactly its glyph', () => {
    const c = new Canvas(20, 12);
    c.text(3, 2, '1');
    const g = glyph('1');
    for (let r = 0; r < GLYPH_H; r++) for (let q = 0; q < GLYPH_W; q++) expect(isWhite(c.get(3 + q, 2 + r)), `${r},${q}`).toBe(g[r * GLYPH_W + q] === 0);
    expect(inkCount(c)).toBe(g.reduce((a, b) => a + b, 0));
    // vertical text is the same glyph turned: as many lit cells, in a column GLYPH_H wide
    const v = new Canvas(20, 20);
    v.text(10, 10, '1', { vertical: true });
    expect(inkCount(v)).toBe(inkCount(c));
  });
});

describe('canvas', () => {
  it('blends, fills, draws lines and discs where asked', () => {
    const c = new Canvas(40, 30);
    c.fillRect(2, 3, 4, 5, [255, 0, 0]);
    expect(c.get(2, 3)).toEqual([255, 0, 0]);
    expect(c.get(5, 7)).toEqual([255, 0, 0]);
    expect(isWhite(c.get(6, 7))).toBe(true);
    c.blend(20, 20, [0, 0, 0], 0.5);
    expect(c.get(20, 20)).toEqual([128, 128, 128]);
    const l = new Canvas(40, 30);
    l.line(5, 10, 35, 10, [0, 0, 255]);
    for (let x = 5; x <= 35; x++) expect(l.get(x, 10), `x = ${x}`).toEqual([0, 0, 255]);
    expect(inkCount(l, 0, 0, 40, 9)).toBe(0);
    const d = new Canvas(40, 40);
    d.disc(20, 20, 5, [0, 0, 0]);
    expect(d.get(20, 20)).toEqual([0, 0, 0]);
    expect(isWhite(d.get(20, 28))).toBe(true);
    // the area is close to πr²
    expect(inkCount(d)).toBeGreaterThan(Math.PI * 25 * 0.9);
    expect(inkCount(d)).toBeLessThan(Math.PI * 36 * 1.1);
    expect(() => new Canvas(0, 10)).toThrow(/^Canvas: width and height must be positive integers/);
  });

  it('encodes a PNG that decodes to the same pixels', () => {
    const c = new Canvas(17, 9);
    c.fillRect(0, 0, 5, 9, [10, 200, 30]);
    c.text(6, 1, 'ok');
    const png = decodePng(c.toPng());
    expect([png.width, png.height]).toEqual([17, 9]);
    expect(Buffer.from(png.data).equals(Buffer.from(c.data))).toBe(true);
  });
});

describe('axes', () => {
  it('nice ticks step by 1, 2 or 5 times a power of ten and cover the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(-3.2, 3.2, 6)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(niceTicks(0.001, 0.0042, 3)).toEqual([0.001, 0.002, 0.003, 0.004].map((v) => expect.closeTo(v, 12)));
    expect(logTicks(0.05, 20)).toEqual([0.1, 1, 10]);
    expect(formatTick(0)).toBe('0');
    expect(formatTick(2.5)).toBe('2.5');
    expect(formatTick(123456)).toBe('1.2e5');
    expect(formatTick(-0.0001)).toBe('-1.0e-4');
  });
});

describe('charts', () => {
  it('a scatter plot puts each point at its place, in its series colour', () => {
    const c = scatterPlot([{ points: [0, 0], color: [255, 0, 0], alpha: 1, radius: 3 }], { x: { lo: -1, hi: 1 }, y: { lo: -1, hi: 1 }, width: 300, height: 300 });
    // the plot area spans [60, 284] × [14, 270]: (0, 0) is its centre
    expect(c.get(172, 142)).toEqual([255, 0, 0]);
    expect(() => scatterPlot([{ points: [1, 2, 3] }])).toThrow(/^scatterPlot: points must be \(n, 2\) row-major, got 3 values$/);
  });

  it('a line plot on a log axis draws the curve and refuses an empty one', () => {
    const ys = Array.from({ length: 50 }, (_, i) => Math.exp(-i / 10));
    const c = linePlot([{ ys, color: [0, 0, 0] }], { logY: true, title: 'loss' });
    expect([c.width, c.height]).toEqual([640, 400]);
    expect(inkCount(c)).toBeGreaterThan(2000);
    expect(() => linePlot([{ ys: [] }])).toThrow(/^linePlot: nothing to draw/);
  });

  it('a heat map colours cells by viridis from the minimum to the maximum', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    const values = Float64Array.from({ length: 16 }, (_, i) => i);
    const c = heatmap(values, 4, 4, { x: { lo: 0, hi: 4 }, y: { lo: 0, hi: 4 }, width: 300, height: 300 });
    // plot area [60, 224] × [14, 270]; cell (0, 0) is bottom-left (value 0), cell (3, 3) top-right (value 15)
    expect(c.get(70, 260)).toEqual(viridis(0));
    expect(c.get(215, 20)).toEqual(viridis(1));
    expect(() => heatmap([1, 2, 3], 2, 2, { x: { lo: 0, hi: 1 }, y: { lo: 0, hi: 1 } })).toThrow(/^heatmap: 3 values for a 2×2 grid$/);
  });

  it('histogram2d counts points per cell and drops points outside', () => {
    const h = histogram2d([0.1, 0.1, 0.9, 0.1, 0.9, 0.1, 5, 5], 2, { lo: 0, hi: 1 }, { lo: 0, hi: 1 });
    expect(Array.from(h)).toEqual([1, 2, 0, 0]);
  });

  it('trajectories need two frames of equal size', () => {
    const f0 = [0, 0, 1, 1];
    const f1 = [0.5, 0, 1, 0.5];
    const c = trajectoryPlot([f0, f1]);
    expect(inkCount(c)).toBeGreaterThan(1000);
    expect(() => trajectoryPlot([f0])).toThrow(/^trajectoryPlot: needs at least 2 frames/);
    expect(() => trajectoryPlot([f0, [1, 2]])).toThrow(/^trajectoryPlot: every frame must hold the same number of points$/);
  });

  it('an image grid tiles images with exact grey levels and RGB channels', () => {
    // two 2×2 grey images: 0, 0.5, 1, 0.25 and their negatives
    const v = [0, 0.5, 1, 0.25, 1, 0.5, 0, 0.75];
    const c = imageGrid(v, [2, 1, 2, 2], { cols: 2, scale: 1, gap: 1 });
    expect([c.width, c.height]).toEqual([2 * 3 + 1, 3 + 1]);
    expect(c.get(1, 1)).toEqual([0, 0, 0]);
    expect(c.get(2, 1)).toEqual([128, 128, 128]);
    expect(c.get(1, 2)).toEqual([255, 255, 255]);
    expect(c.get(4, 1)).toEqual([255, 255, 255]);
    const rgb = imageGrid([1, 0, 0], [1, 3, 1, 1], { scale: 2, gap: 0, range: { lo: 0, hi: 1 } });
    expect(rgb.get(1, 1)).toEqual([255, 0, 0]);
    expect(() => imageGrid([0], [1, 2, 1, 1])).toThrow(/^imageGrid: images need 1 or 3 channels, got 2$/);
  });
});

describe('clipping', () => {
  it('data outside the ranges never spills over the axes or margins', () => {
    // a line from far outside to far outside, through the plot area
    const c = linePlot([{ xs: [-100, 100], ys: [-100, 100], color: [255, 0, 0] }], { x: { lo: 0, hi: 1 }, y: { lo: 0, hi: 1 }, width: 300, height: 300 });
    let outside = 0;
    for (let y = 0; y < 300; y++) for (let x = 0; x < 300; x++) {
      const [r, g, b] = c.get(x, y);
      const red = r > 200 && g < 100 && b < 100;
      if (red && (x <= 60 || x >= 284 || y <= 14 || y >= 270)) outside++;
    }
    expect(outside).toBe(0);
    // and the part inside is drawn
    expect(c.get(172, 142)[1]).toBeLessThan(100);
  });
});
