/**
 * The op suite: every case of every family through the checker, and a
 * generated coverage check that every primitive in OPS has a case.
 */
import { describe, expect, it } from 'vitest';
import { OPS } from '../../src/index.js';
import { checkOp, type OpCase } from '../helpers/check.js';
import { allCases, coveredElsewhere } from './cases/index.js';

describe('op suite (cpu reference backend)', () => {
  it.each(allCases.map((c: OpCase) => [`${c.op}${c.label ? ` (${c.label})` : ''}`, c] as const))('%s', (_name, c) => {
    checkOp(c);
  });
});

describe('coverage', () => {
  it('every primitive op in OPS has at least one case', () => {
    const covered = new Set([...allCases.map((c) => c.op), ...Object.keys(coveredElsewhere)]);
    const missing = Object.keys(OPS).filter((k) => !covered.has(k));
    expect(missing, `ops without a test case: ${missing.join(', ')}`).toEqual([]);
  });
});
