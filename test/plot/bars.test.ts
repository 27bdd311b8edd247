/** barChart: the PNG decodes to the size asked, bars are drawn from zero in proportion to their values, bad values are refused. */
import { describe, expect, it } from 'vitest';
import { barChart, decodePng, PALETTE } from '../../src/plot/index.js';
import { parseMixerTable } from '../../scripts/lm-mixers-plot.js';

/** Pixels of colour `c` along row y. */
function runOf(img: { width: number; data: Uint8Array }, y: number, c: readonly number[]): number {
  let n = 0;
  for (let x = 0; x < img.width; x++) {
    const i = (y * img.width + x) * 4;
    if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) n++;
  }
  return n;
}

describe('barChart', () => {
  it('draws bars in proportion to their values, in order, in a PNG of the given width', () => {
    const a = PALETTE[1]!;
    const b = PALETTE[2]!;
    const canvas = barChart([{ label: 'short', value: 1, color: a }, { label: 'long', value: 4, color: b }], { width: 400, rowHeight: 20, title: 'T', xLabel: 'x' });
    const img = decodePng(canvas.toPng());
    expect(img.width).toBe(400);
    expect(img.height).toBe(34 + 2 * 20 + 46);
    const wa = runOf(img, 34 + 10, a); // first row's middle
    const wb = runOf(img, 34 + 30, b);
    expect(wa).toBeGreaterThan(10);
    expect(wb / wa).toBeCloseTo(4, 1);
    expect(runOf(img, 34 + 10, b)).toBe(0); // the first row is the first bar
  });

  it('refuses negative or missing values and an empty list', () => {
    expect(() => barChart([])).toThrow(/no bars/);
    expect(() => barChart([{ label: 'x', value: -1 }])).toThrow(/bar 'x' has value -1/);
    expect(() => barChart([{ label: 'x', value: NaN }])).toThrow(/finite/);
  });

  it('the mixer plot reads the table of docs/models.md', () => {
    const doc = 'a\n<!-- lm-mixers:begin -->\n| mixer | held-out bits/byte |\n|---|---:|\n| rnn | 2.259 | 4.79 |\n| mamba | 2.639 | 6.23 |\n<!-- lm-mixers:end -->\n';
    expect(parseMixerTable(doc)).toEqual([{ mixer: 'rnn', bpb: 2.259 }, { mixer: 'mamba', bpb: 2.639 }]);
    expect(() => parseMixerTable('no table')).toThrow(/lm-mixers:begin/);
  });
});
