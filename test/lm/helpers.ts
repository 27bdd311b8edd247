/** Helpers for the language-model CLI tests: a temp workspace, a small corpus, and the CLI driven in-process. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.js';

export function workspace(prefix: string): { dir: string; path: (...p: string[]) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (...p) => join(dir, ...p), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A few KB of text with structure a tiny model can pick up in a handful of steps. */
export function writeCorpus(file: string): string {
  const lines: string[] = [];
  const words = ['the', 'union', 'of', 'states', 'and', 'people', 'congress', 'shall', 'peace', 'trade'];
  for (let i = 0; i < 120; i++) lines.push(`${words[i % 10]} ${words[(i * 3) % 10]} ${words[(i * 7) % 10]}, ${i % 5 === 0 ? 'and so on' : 'we are'}.`);
  const text = lines.join(' ');
  writeFileSync(file, text);
  return text;
}

/** Tiny, fast settings for CLI runs (flags). */
export const TINY = ['--d-model', '16', '--layers', '1', '--context', '16', '--batch', '4', '--eval-tokens', '64', '--sample-tokens', '8', '--log-every', '1', '--plain', '--prompt', 'the '];

export interface CliRun {
  out: string[];
  /** the error message, as `nabla:` would print it */
  error: string | null;
}

/** Run the nabla program in-process; errors are caught and returned (the entry point prints them as one `nabla: …` line). */
export async function cli(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const program = buildProgram((l) => out.push(l));
  program.exitOverride();
  try {
    await program.parseAsync(['node', 'nabla', ...args]);
    return { out, error: null };
  } catch (e) {
    return { out, error: e instanceof Error ? e.message : String(e) };
  }
}

export interface MetricLine {
  type: string;
  step: number;
  loss?: number;
  bitsPerByte?: number;
  text?: string;
}

export function readMetrics(run: string): MetricLine[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricLine);
}
