/**
 * Pictures as PNG files, rendered in pure JavaScript: a small raster
 * (`Canvas`) with a built-in bitmap font, chart frames with nice ticks, and
 * the charts of the generative commands (scatter plots, line charts, density
 * heat maps, sampler trajectories, image grids). See docs/decisions.md
 * ("plot") for why nabla draws its own rather than using a chart library.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFileSync } from '../io/atomicWrite.js';
import type { Canvas } from './canvas.js';

export { Canvas, decodePng, PALETTE, WHITE, BLACK, GREY, LIGHT_GREY, type Rgb, type TextOptions } from './canvas.js';
export { GLYPH_W, GLYPH_H, glyph, hasGlyph, textWidth } from './font.js';
export { Frame, niceTicks, logTicks, formatTick, paddedRange, type Range, type FrameOptions } from './axes.js';
export { barChart, type Bar, type BarChartOptions } from './bars.js';
export { scatterPlot, linePlot, heatmap, histogram2d, trajectoryPlot, imageGrid, viridis, squareRange, type ChartOptions, type PointSeries, type LineSeries, type HeatmapOptions, type ImageGridOptions } from './charts.js';

/** Write a canvas as a PNG file (creating the folder; replaced atomically). Returns the path. */
export function writePng(path: string, canvas: Canvas): string {
  mkdirSync(dirname(path), { recursive: true });
  atomicWriteFileSync(path, canvas.toPng());
  return path;
}
