/**
 * Scopes: `tidy` for synchronous code, `scope` for async code (tracked across
 * `await` with AsyncLocalStorage in Node, so concurrent scopes stay apart),
 * `keep`, and disposal when the function throws.
 */
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

/** A promise and the function that resolves it, to force a chosen interleaving. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('tidy', () => {
  it('disposes what the function created and keeps what it returns (tensor, array, object, Map)', () => {
    const base = nb.memory().liveTensors;
    let inner: Tensor[] = [];
    const r = nb.tidy(() => {
      const a = nb.ones([2]);
      const b = nb.add(a, 1);
      const c = nb.mul(b, 2);
      inner = [a, b, c];
      return { c, list: [b], map: new Map([['k', nb.exp(a)]]), n: 3 };
    });
    expect(inner[0]!.disposed).toBe(true);
    expect(inner[1]!.disposed).toBe(false);
    expect(inner[2]!.disposed).toBe(false);
    expect(r.map.get('k')!.disposed).toBe(false);
    expect(r.n).toBe(3);
    expect(Array.from(r.c.toF64())).toEqual([4, 4]);
    expect(nb.memory().liveTensors).toBe(base + 3);
    [r.c, r.list[0]!, r.map.get('k')!].forEach((t) => t.dispose());
    expect(nb.memory().liveTensors).toBe(base);
  });

  it('a tensor that escapes without being returned is disposed and says so when used', () => {
    let leaked: Tensor | undefined;
    nb.tidy(() => {
      leaked = nb.ones([3]);
    });
    expect(leaked!.disposed).toBe(true);
    expect(() => nb.add(leaked!, 1)).toThrow(/^add: input (0 )?f32\[3\] was disposed/);
  });

  it('nested tidy: what the inner returns belongs to the outer, which disposes it unless returned', () => {
    const base = nb.memory().liveTensors;
    let fromInner: Tensor | undefined;
    let innerTemp: Tensor | undefined;
    const out = nb.tidy(() => {
      fromInner = nb.tidy(() => {
        innerTemp = nb.zeros([2]);
        return nb.add(innerTemp, 5);
      });
      expect(innerTemp!.disposed).toBe(true);
      expect(fromInner.disposed).toBe(false);
      return nb.mul(fromInner, 2);
    });
    expect(fromInner!.disposed).toBe(true); // the outer scope did not return it
    expect(Array.from(out.toF64())).toEqual([10, 10]);
    out.dispose();
    expect(nb.memory().liveTensors).toBe(base);
  });

  it('keep() takes a tensor out of every enclosing scope', () => {
    let kept: Tensor | undefined;
    let other: Tensor | undefined;
    nb.tidy(() => {
      nb.tidy(() => {
        kept = nb.keep(nb.ones([4]));
        other = nb.ones([4]);
      });
    });
    expect(kept!.disposed).toBe(false);
    expect(other!.disposed).toBe(true);
    kept!.dispose();
  });

  it('disposes everything when the function throws, and rethrows', () => {
    const base = nb.memory();
    let made: Tensor | undefined;
    expect(() =>
      nb.tidy(() => {
        made = nb.ones([100]);
        nb.add(made, nb.ones([3])); // shape error
      }),
    ).toThrow(/^add: shapes do not broadcast/);
    expect(made!.disposed).toBe(true);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
  });

  it('refuses an async function (its tensors would outlive it) and points to scope()', () => {
    expect(() => nb.tidy((async () => nb.ones([1])) as never)).toThrow(/tidy: the function returned a Promise; use scope\(async \(\) => \.\.\.\)/);
  });
});

describe('scope (async)', () => {
  it('tracks tensors created across await and keeps the returned one', async () => {
    const base = nb.memory().liveTensors;
    const made: Tensor[] = [];
    const r = await nb.scope(async () => {
      made.push(nb.ones([2]));
      await new Promise((res) => setTimeout(res, 1));
      made.push(nb.add(made[0]!, 1));
      await Promise.resolve();
      return nb.mul(made[1]!, 3);
    });
    expect(made.map((t) => t.disposed)).toEqual([true, true]);
    expect(Array.from(r.toF64())).toEqual([6, 6]);
    r.dispose();
    expect(nb.memory().liveTensors).toBe(base);
  });

  it('two interleaved scopes (Promise.all) each dispose only their own tensors', async () => {
    const base = nb.memory().liveTensors;
    const aMade: Tensor[] = [];
    const bMade: Tensor[] = [];
    const aMay = gate();
    const bDone = gate();
    const A = nb.scope(async () => {
      aMade.push(nb.full([2], 1));
      await aMay.wait; // B runs to completion meanwhile
      expect(aMade[0]!.disposed).toBe(false); // B's exit must not touch A's tensors
      aMade.push(nb.add(aMade[0]!, 10));
      return aMade[1]!;
    });
    const B = nb.scope(async () => {
      bMade.push(nb.full([2], 2));
      await Promise.resolve();
      bMade.push(nb.mul(bMade[0]!, 100));
      return [bMade[1]!];
    }).finally(() => {
      bDone.open();
    });
    await bDone.wait;
    expect(bMade[0]!.disposed).toBe(true);
    expect(bMade[1]!.disposed).toBe(false);
    aMay.open();
    const [a, [b]] = await Promise.all([A, B]);
    expect(aMade[0]!.disposed).toBe(true);
    expect(Array.from(a.toF64())).toEqual([11, 11]);
    expect(Array.from(b!.toF64())).toEqual([200, 200]);
    a.dispose();
    b!.dispose();
    expect(nb.memory().liveTensors).toBe(base);
  });

  it('many concurrent scopes with random delays leak nothing and keep their results', async () => {
    const base = nb.memory().liveTensors;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        nb.scope(async () => {
          let t = nb.full([3], i);
          for (let k = 0; k < 3; k++) {
            await new Promise((res) => setTimeout(res, (i * 7 + k * 3) % 5));
            t = nb.add(t, 1);
          }
          return t;
        }),
      ),
    );
    results.forEach((t, i) => expect(Array.from(t.toF64())).toEqual([i + 3, i + 3, i + 3]));
    results.forEach((t) => t.dispose());
    // ≤, not =: an earlier test's dropped tensor may be collected (FinalizationRegistry) while the
    // timers run, lowering the count; a leak here would raise it by at least 20
    expect(nb.memory().liveTensors).toBeLessThanOrEqual(base);
  });

  it('a tidy inside an async scope hands its result to that scope', async () => {
    let fromTidy: Tensor | undefined;
    const r = await nb.scope(async () => {
      await Promise.resolve();
      fromTidy = nb.tidy(() => nb.add(nb.ones([1]), 1));
      await Promise.resolve();
      return nb.mul(fromTidy, 2);
    });
    expect(fromTidy!.disposed).toBe(true);
    expect(r.item()).toBe(4);
    r.dispose();
  });

  it('disposes its tensors when the async function rejects', async () => {
    const base = nb.memory();
    const made: Tensor[] = [];
    await expect(
      nb.scope(async () => {
        made.push(nb.ones([10]));
        await Promise.resolve();
        made.push(nb.ones([10]));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(made.every((t) => t.disposed)).toBe(true);
    expect(nb.memory()).toMatchObject({ liveTensors: base.liveTensors, liveBytes: base.liveBytes });
  });
});
