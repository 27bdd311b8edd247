/**
 * The bits-per-byte comparison of docs/models.md as a bar chart: reads the
 * table between `<!-- lm-mixers:begin -->` and `<!-- lm-mixers:end -->` (what
 * `scripts/lm-mixers.ts --table` printed) and draws one bar per mixer,
 * coloured by family, best first.
 *
 *   npx tsx scripts/lm-mixers-plot.ts [--doc docs/models.md] [--out docs/images/lm-mixers-bpb.png]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { barChart, PALETTE, writePng, type Rgb } from '../src/plot/index.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

/** Families for the colours (the issues the mixers came from). */
const FAMILIES: [string, RegExp, Rgb][] = [
  ['recurrent (RNN, GRU, LSTM)', /^(rnn|gru|lstm)$/, PALETTE[1]!],
  ['state space / linear recurrence', /^(mamba2?|s4d?|lru|retnet)$/, PALETTE[2]!],
  ['quadratic attention (softmax, GAU)', /^(softmax|flash-attention|gau)$/, PALETTE[0]!],
  ['linear / kernel attention', /^(linear|cosformer|performer|flash|transnormer.*|transformer-vq)$/, PALETTE[3]!],
  ['sparse attention', /^sparse-/, PALETTE[4]!],
];
const OTHER: Rgb = [128, 128, 128];

export function parseMixerTable(doc: string): { mixer: string; bpb: number }[] {
  const m = /<!-- lm-mixers:begin -->([^]*?)<!-- lm-mixers:end -->/.exec(doc);
  if (!m) throw new Error('no <!-- lm-mixers:begin --> … <!-- lm-mixers:end --> section in the document');
  const rows = m[1]!.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| mixer'));
  return rows.map((l) => {
    const cells = l.split('|').map((c) => c.trim());
    return { mixer: cells[1]!, bpb: Number(cells[2]) };
  });
}

function main(): void {
  const doc = arg('--doc', 'docs/models.md');
  const out = arg('--out', 'docs/images/lm-mixers-bpb.png');
  const rows = parseMixerTable(readFileSync(doc, 'utf8')).sort((a, b) => a.bpb - b.bpb);
  const color = (mixer: string): Rgb => FAMILIES.find(([, re]) => re.test(mixer))?.[2] ?? OTHER;
  const canvas = barChart(rows.map((r) => ({ label: r.mixer, value: r.bpb, color: color(r.mixer) })), {
    width: 640,
    title: 'Held-out bits per byte after 15 CPU-seconds',
    xLabel: 'bits per byte on the held-out split (lower is better); 2 layers, d = 64, characters',
    legend: FAMILIES.map(([label, , c]) => ({ label, color: c })),
  });
  console.log(`${rows.length} mixers → ${writePng(out, canvas)}`);
}

// run when called as a script, not when a test imports parseMixerTable
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
