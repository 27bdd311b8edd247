/**
 * The README's examples are doc-tests: every ```ts block runs, and each
 * `// → value` comment must equal what the nearest console.log before it
 * printed (arguments as JSON, separated by spaces; whitespace ignored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as nb from '../../src/index.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');

interface Snippet {
  code: string;
  expected: string[];
  line: number;
}

function snippets(): Snippet[] {
  const text = readFileSync(README, 'utf8');
  const out: Snippet[] = [];
  const re = /```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const code = m[1]!;
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((e) => e[1]!.trim());
    out.push({ code, expected, line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** Transpile a snippet (TypeScript, `using`, top-level await) into the body of an async function of (nb, log). */
function compile(code: string): (lib: typeof nb, log: (...a: unknown[]) => void) => Promise<void> {
  const src = code.replace(/^import \* as nb from 'nabla';$/m, '').replace(/console\.log\(/g, '__log(');
  const js = ts.transpileModule(`export {};\n${src}`, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText.replace(/^export \{\};$/m, '');
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (lib: typeof nb, log: (...a: unknown[]) => void) => Promise<void>;
  return new AsyncFunction('nb', '__log', js);
}

const squash = (s: string): string => s.replace(/\s+/g, '');

describe('README examples', () => {
  const all = snippets();

  it('has examples with expected outputs', () => {
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.every((s) => s.expected.length > 0)).toBe(true);
  });

  it.each(all.map((s) => [`snippet at README.md:${s.line}`, s] as const))('%s runs and prints what it says', async (_name, s) => {
    const printed: string[] = [];
    await compile(s.code)(nb, (...args) => printed.push(args.map((a) => JSON.stringify(a)).join(' ')));
    expect(printed.map(squash)).toEqual(s.expected.map(squash));
  });
});
