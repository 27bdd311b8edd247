/**
 * The attention panel's measurements (playground/src/attentionTiming.ts):
 * every form (softmax, FlashAttention, linear, Performer, FLASH,
 * Transformer-VQ, Mamba) runs and reports a positive time and a finite
 * positive peak, and the memory laws show: doubling n from 128 to 256 about
 * doubles the peak of the forms with O(n) memory (less than 3x) while
 * softmax's n×n scores quadruple it (more than 3.5x). Peak bytes are counted
 * by nabla's allocator, so they do not depend on the machine's load; times
 * are never compared.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import { ATTENTION_FORMS, ATTENTION_LABELS, timeAttention } from '../../playground/src/attentionTiming.js';

describe('playground attention timing', () => {
  it('every form runs at n = 64 with a positive time and a finite positive peak, and frees what it built', () => {
    const live = nb.memory().liveBytes;
    for (const f of ATTENTION_FORMS) {
      const r = timeAttention(f, 64, 1);
      expect(r.ms, f).toBeGreaterThan(0);
      expect(Number.isFinite(r.peakBytes) && r.peakBytes > 0, `${f}: peak ${r.peakBytes}`).toBe(true);
      expect(ATTENTION_LABELS[f]).toBeTruthy();
    }
    expect(nb.memory().liveBytes).toBe(live); // modules, codebooks and inputs disposed
    expect(() => timeAttention('nope' as never, 64)).toThrow(/unknown form 'nope'/);
  });

  it('peak memory from n = 128 to 256: under 3x for the O(n) forms, over 3.5x for softmax', () => {
    const ratio = (f: (typeof ATTENTION_FORMS)[number]): number => timeAttention(f, 256, 1).peakBytes / timeAttention(f, 128, 1).peakBytes;
    for (const f of ['flash', 'linear', 'performer', 'FLASH', 'transformer-vq', 'mamba'] as const) {
      const r = ratio(f);
      expect(r, `${f}: ratio ${r}`).toBeGreaterThan(1.5);
      expect(r, `${f}: ratio ${r}`).toBeLessThan(3);
    }
    const s = ratio('softmax');
    expect(s, `softmax: ratio ${s}`).toBeGreaterThan(3.5);
    expect(s).toBeLessThan(4.5);
  });
});
