/**
 * Anomaly mode: the first op whose output holds NaN or ±inf is reported by
 * name, in the forward pass and in the backward pass (naming the op whose
 * VJP rule produced it), like PyTorch's detect_anomaly.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';

describe('anomaly mode', () => {
  it('forward: names the first op producing NaN (log of a negative), not the ops after it', () => {
    const x = nb.tensor([1, -2, 3]);
    expect(() => nb.withAnomalyMode(() => nb.mul(nb.log(x), 2))).toThrow(
      /^anomaly: 'log' produced NaN in output 0 \[3\] during the forward pass \(inputs: f32\[3\]\)$/,
    );
    x.dispose();
  });

  it('forward: reports inf too (exp overflowing float32, division by zero)', () => {
    nb.tidy(() => {
      expect(() => nb.withAnomalyMode(() => nb.exp(nb.tensor([1, 100])))).toThrow(/^anomaly: 'exp' produced inf in output 0 \[2\] during the forward pass/);
      expect(() => nb.withAnomalyMode(() => nb.div(1, nb.tensor([0, 1])))).toThrow(/^anomaly: 'div' produced inf/);
    });
  });

  it('is off by default and outside withAnomalyMode, even after a report', () => {
    nb.tidy(() => {
      const x = nb.tensor([-1]);
      expect(Number.isNaN(nb.log(x).item())).toBe(true);
      expect(() => nb.withAnomalyMode(() => nb.log(x))).toThrow(/anomaly/);
      expect(Number.isNaN(nb.log(x).item())).toBe(true); // restored after the throw
      nb.setAnomalyMode(true);
      try {
        expect(() => nb.log(x)).toThrow(/anomaly: 'log'/);
      } finally {
        nb.setAnomalyMode(false);
      }
      expect(Number.isNaN(nb.log(x).item())).toBe(true);
    });
  });

  it('an op whose input is already NaN is not the first: it is not reported', () => {
    nb.tidy(() => {
      const bad = nb.log(nb.tensor([-1, 1])); // made outside anomaly mode
      const y = nb.withAnomalyMode(() => nb.add(bad, 1));
      expect(Number.isNaN(y.toF64()[0]!)).toBe(true);
    });
  });

  it('backward: sqrt at 0 is finite forward, inf backward; the report says backward and names the VJP', () => {
    const x = nb.tensor([0, 4]).requiresGrad_();
    const base = nb.memory();
    expect(() =>
      nb.withAnomalyMode(() => {
        const y = nb.tidy(() => nb.sum(nb.sqrt(x)));
        expect(y.item()).toBe(2); // the forward pass passed the check
        try {
          y.backward();
        } finally {
          y.dispose();
        }
      }),
    ).toThrow(/^anomaly: '\w+' produced inf in output 0 \[2\] during the backward pass, in the VJP of 'sqrt' \(inputs: /);
    expect(x.grad).toBeNull();
    // the failed backward freed its temporaries and the graph
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    // without anomaly mode the same gradient is silently inf
    nb.tidy(() => nb.sum(nb.sqrt(x)).backward());
    expect(Array.from(x.grad!.toF64())).toEqual([Infinity, 0.25]);
    x.dispose();
  });

  it('a reported op leaks nothing, inside or outside tidy', () => {
    const x = nb.tensor([-1, 1]);
    const base = nb.memory();
    expect(() => nb.withAnomalyMode(() => nb.log(x))).toThrow(/anomaly/);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
    x.dispose();
  });
});
