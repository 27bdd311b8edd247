/**
 * A small RGBA raster with the few primitives the charts need: alpha-blended
 * pixels, filled rectangles, anti-aliased lines (Xiaolin Wu, "An efficient
 * antialiasing technique", SIGGRAPH 1991, widened by drawing parallel
 * strokes), filled discs with a soft edge, and text in the built-in 5×7 font
 * (horizontal, or turned 90° for a y-axis label). PNG encoding is pngjs's
 * (pure JavaScript, no native code).
 */
import { PNG } from 'pngjs';
import { GLYPH_H, GLYPH_W, glyph, textWidth } from './font.js';

/** An RGB colour, components 0–255. */
export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
export const GREY: Rgb = [128, 128, 128];
export const LIGHT_GREY: Rgb = [225, 225, 225];

/** A qualitative palette for series (a colour-blind-friendly set after Okabe & Ito, 2008). */
export const PALETTE: readonly Rgb[] = [
  [0, 114, 178],
  [213, 94, 0],
  [0, 158, 115],
  [204, 121, 167],
  [230, 159, 0],
  [86, 180, 233],
  [0, 0, 0],
  [240, 228, 66],
];

export interface TextOptions {
  /** integer pixel size of one font cell (default 1) */
  scale?: number;
  color?: Rgb;
  /** horizontal anchor of x (default 'left') */
  align?: 'left' | 'center' | 'right';
  /** vertical anchor of y (default 'top') */
  baseline?: 'top' | 'middle' | 'bottom';
  /** draw turned 90° counter-clockwise (reading bottom to top), anchored at its centre */
  vertical?: boolean;
}

export class Canvas {
  readonly width: number;
  readonly height: number;
  /** RGBA, row-major, 4 bytes a pixel */
  readonly data: Uint8Array;
  /** when set, drawing outside this rectangle (inclusive pixel bounds) does nothing: charts clip their data to the plot area */
  clip: { x0: number; y0: number; x1: number; y1: number } | null = null;

  constructor(width: number, height: number, background: Rgb = WHITE) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 64e6) {
      throw new Error(`Canvas: width and height must be positive integers (at most 64 megapixels), got ${width}×${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Blend colour c over pixel (x, y) with opacity a ∈ [0, 1]; outside the canvas nothing happens. */
  blend(x: number, y: number, c: Rgb, a = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || !(a > 0)) return;
    const k = this.clip;
    if (k && (x < k.x0 || y < k.y0 || x > k.x1 || y > k.y1)) return;
    const i = ((y | 0) * this.width + (x | 0)) * 4;
    const d = this.data;
    const t = Math.min(1, a);
    d[i] = Math.round(d[i]! + (c[0] - d[i]!) * t);
    d[i + 1] = Math.round(d[i + 1]! + (c[1] - d[i + 1]!) * t);
    d[i + 2] = Math.round(d[i + 2]! + (c[2] - d[i + 2]!) * t);
    d[i + 3] = 255;
  }

  /** The colour at (x, y). */
  get(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 4;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb, a = 1): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) this.blend(i, j, c, a);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /** An anti-aliased line of the given width (Wu's algorithm, one stroke per pixel of width). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, opts: { width?: number; alpha?: number } = {}): void {
    if (![x0, y0, x1, y1].every(Number.isFinite)) return;
    const w = Math.max(1, opts.width ?? 1);
    const alpha = opts.alpha ?? 1;
    const len = Math.hypot(x1 - x0, y1 - y0);
    // strokes offset along the normal, spaced one pixel apart, centred on the line
    const nx = len > 0 ? -(y1 - y0) / len : 0;
    const ny = len > 0 ? (x1 - x0) / len : 1;
    const n = Math.round(w);
    for (let k = 0; k < n; k++) {
      const o = k - (n - 1) / 2;
      this.#wu(x0 + nx * o, y0 + ny * o, x1 + nx * o, y1 + ny * o, c, alpha);
    }
  }

  #wu(x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha: number): void {
    const steep = Math.abs(y1 - y0) > Math.abs(x1 - x0);
    const plot = (x: number, y: number, a: number): void => (steep ? this.blend(y, x, c, a * alpha) : this.blend(x, y, c, a * alpha));
    if (steep) [x0, y0, x1, y1] = [y0, x0, y1, x1];
    if (x0 > x1) [x0, y0, x1, y1] = [x1, y1, x0, y0];
    const dx = x1 - x0;
    const grad = dx === 0 ? 1 : (y1 - y0) / dx;
    const xs = Math.round(x0);
    const xe = Math.round(x1);
    // too long a line (a wild coordinate) is clipped to the canvas's extent
    const lim = Math.max(this.width, this.height) + 2;
    for (let x = Math.max(xs, -2); x <= Math.min(xe, lim); x++) {
      const y = y0 + grad * (x - x0);
      const fy = Math.floor(y);
      const frac = y - fy;
      plot(x, fy, 1 - frac);
      plot(x, fy + 1, frac);
    }
  }

  /** A polyline through (xs[i], ys[i]); non-finite points break it. */
  polyline(xs: ArrayLike<number>, ys: ArrayLike<number>, c: Rgb, opts: { width?: number; alpha?: number } = {}): void {
    for (let i = 1; i < xs.length; i++) {
      if ([xs[i - 1]!, ys[i - 1]!, xs[i]!, ys[i]!].every(Number.isFinite)) this.line(xs[i - 1]!, ys[i - 1]!, xs[i]!, ys[i]!, c, opts);
    }
  }

  /** A filled disc of radius r centred at (cx, cy), with a one-pixel soft edge. */
  disc(cx: number, cy: number, r: number, c: Rgb, alpha = 1): void {
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
    const R = Math.ceil(r + 1);
    for (let j = Math.floor(cy - R); j <= Math.ceil(cy + R); j++) {
      for (let i = Math.floor(cx - R); i <= Math.ceil(cx + R); i++) {
        const d = Math.hypot(i + 0.5 - cx, j + 0.5 - cy);
        const cover = Math.max(0, Math.min(1, r + 0.5 - d));
        if (cover > 0) this.blend(i, j, c, cover * alpha);
      }
    }
  }

  /** Draw text in the built-in font. */
  text(x: number, y: number, text: string, opts: TextOptions = {}): void {
    const s = Math.max(1, Math.round(opts.scale ?? 1));
    const c = opts.color ?? BLACK;
    const w = textWidth(text, s);
    const h = GLYPH_H * s;
    if (opts.vertical) {
      // reading upwards: the string's x axis runs along −y
      const left = Math.round(x - h / 2);
      const bottom = Math.round(y + w / 2);
      this.#glyphs(text, s, (gx, gy) => this.fillRect(left + gy, bottom - gx - s, s, s, c));
      return;
    }
    const left = Math.round(opts.align === 'center' ? x - w / 2 : opts.align === 'right' ? x - w : x);
    const top = Math.round(opts.baseline === 'middle' ? y - h / 2 : opts.baseline === 'bottom' ? y - h : y);
    this.#glyphs(text, s, (gx, gy) => this.fillRect(left + gx, top + gy, s, s, c));
  }

  /** Call cell(x, y) at the top-left of every lit font cell of the string, in pixels from its origin. */
  #glyphs(text: string, s: number, cell: (x: number, y: number) => void): void {
    let pen = 0;
    for (const ch of text) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_H; r++) for (let q = 0; q < GLYPH_W; q++) if (g[r * GLYPH_W + q]) cell(pen + q * s, r * s);
      pen += (GLYPH_W + 1) * s;
    }
  }

  /** The image as PNG bytes (8-bit RGBA). */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    // the Paeth filter on every row: as small as pngjs's per-row search on charts, about 5× faster
    return PNG.sync.write(png, { colorType: 6, filterType: 4 });
  }
}

/** Decode PNG bytes (the tests read back what the charts wrote). */
export function decodePng(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
