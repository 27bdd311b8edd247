/**
 * docs/ops.md is generated from OPS and the op-suite case tables; this test
 * fails when the committed file no longer matches what the generator writes
 * (an op, a rule or a case was added without regenerating it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPS_DOC, renderOpsTable } from '../../scripts/op-coverage.js';
import { OPS } from '../../src/index.js';

describe('docs/ops.md', () => {
  it('is up to date with OPS and the op cases (regenerate with: npm run coverage:ops)', () => {
    const expected = renderOpsTable();
    let actual = '';
    try {
      actual = readFileSync(OPS_DOC, 'utf8');
    } catch {
      // a missing file is stale too
    }
    expect(actual === expected, 'docs/ops.md is stale: run `npm run coverage:ops` and commit the result').toBe(true);
  });

  it('lists every op in OPS exactly once, with its kind and rules', () => {
    const table = renderOpsTable();
    for (const [name, op] of Object.entries(OPS)) {
      const rows = table.split('\n').filter((l) => l.startsWith(`| \`${name}\` |`));
      expect(rows, name).toHaveLength(1);
      const cells = rows[0]!.split(' | ');
      expect(cells[1], `${name} kind`).toBe('view' in op && op.view ? 'view' : 'kernel');
      expect(cells[2], `${name} VJP`).toBe(op.vjp === 'none' ? '—' : 'yes');
      expect(cells[3], `${name} JVP`).toBe(op.jvp === 'none' ? '—' : 'yes');
    }
  });
});
