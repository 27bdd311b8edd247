/**
 * The package root bundles for the browser: esbuild (vite's bundler) builds
 * src/index.ts for platform 'browser', and every import of a Node builtin
 * (`node:fs`, `fs`, `worker_threads`, …) or of a package from node_modules
 * is recorded instead of resolved. Both lists must be empty: Node-only code
 * reaches its modules at call time through `process.getBuiltinModule`
 * (src/io/node.ts, decision 26), so a browser bundle of the root carries
 * none of them and the playground can import the root like any Node user.
 */
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { build, type Plugin } from 'esbuild';

interface Found {
  path: string;
  importer: string;
}

/** Records Node builtins and bare package imports, keeping them out of the bundle. */
function recorder(builtins: Found[], packages: Found[]): Plugin {
  const names = new Set(builtinModules);
  return {
    name: 'record-node-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || args.path.startsWith('.') || args.path.startsWith('/')) return undefined;
        const found = { path: args.path, importer: args.importer.replace(process.cwd() + '/', '') };
        const base = args.path.split('/')[0]!;
        if (args.path.startsWith('node:') || names.has(base)) builtins.push(found);
        else packages.push(found);
        return { path: args.path, external: true };
      });
    },
  };
}

describe('browser bundle of the package root', () => {
  it('src/index.ts bundles for the browser with no Node builtin and no package import', async () => {
    const builtins: Found[] = [];
    const packages: Found[] = [];
    const r = await build({
      entryPoints: ['src/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
      plugins: [recorder(builtins, packages)],
    });
    const show = (fs: Found[]): string[] => fs.map((f) => `${f.importer} imports ${f.path}`);
    expect(show(builtins)).toEqual([]);
    expect(show(packages)).toEqual([]);
    // the bundle really holds the library (not an empty build that passes trivially)
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toContain('src/zoo/lm/data.ts');
    expect(inputs).toContain('src/tokenizers/index.ts');
    expect(inputs.length).toBeGreaterThan(100);
  });

  it('the recorder catches a static node: import (the check can fail)', async () => {
    const builtins: Found[] = [];
    await build({
      stdin: { contents: "import { readFileSync } from 'node:fs'; import { join } from 'path'; export const f = () => readFileSync(join('a', 'b'));", loader: 'ts', resolveDir: process.cwd() },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [recorder(builtins, [])],
    });
    expect(builtins.map((f) => f.path)).toEqual(['node:fs', 'path']);
  });
});
