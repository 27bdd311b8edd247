/**
 * The benchmark driver: parses the command line, starts the peers, runs the
 * families, prints their tables, writes the JSON report and (for a full run)
 * the generated section of docs/benchmarks.md. bench/run.ts runs every
 * family through it; each family script runs itself through it too.
 *
 *   --quick              tiny sizes and few samples (proves it works; CI uses this)
 *   --peers a,b | none   peers to start: torch, tfjs, onnxruntime (default all; --quick: none)
 *   --family a,b         only these families
 *   --filter text        only cases whose name contains text
 *   --out file.json      where the JSON goes (default bench/results/<date>.json)
 *   --docs / --no-docs   update docs/benchmarks.md (default: full runs of every family do)
 *   --threads n          threads for nabla and the peers (default: the cores)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, platform, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_TIMING, QUICK_TIMING, isSkip, type Family, type FamilyContext, type FamilyReport, type Impl } from './harness.js';
import { PEER_NAMES, peerImpls, startPeer, type PeerName, type PeerProcess } from './peers/peer.js';
import { docsSection, familyText, updateDocs } from './report.js';
import { blasStatus } from '../src/backends/cpu/blas.js';
import { shutdownThreads, wasmFeatures } from '../src/backends/cpu/wasm/index.js';
import { memory } from '../src/core/memory.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DOCS_FILE = join(root, 'docs', 'benchmarks.md');

export interface Options {
  quick: boolean;
  peers: PeerName[];
  families?: string[];
  filter: string;
  out?: string;
  docs?: boolean;
  threads: number;
}

export function parseArgs(argv: readonly string[]): Options {
  const has = (f: string): boolean => argv.includes(f);
  const val = (f: string): string | undefined => (has(f) ? argv[argv.indexOf(f) + 1] : undefined);
  const list = (f: string): string[] | undefined => val(f)?.split(',').map((s) => s.trim()).filter(Boolean);
  const quick = has('--quick');
  const peerArg = has('--no-peers') ? ['none'] : list('--peers');
  const peers = !peerArg ? (quick ? [] : [...PEER_NAMES]) : peerArg.includes('none') ? [] : peerArg;
  for (const p of peers) if (!PEER_NAMES.includes(p as PeerName)) throw new Error(`bench: unknown peer '${p}' (known: ${PEER_NAMES.join(', ')}, none)`);
  const threads = Number(val('--threads') ?? availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`bench: --threads must be a positive integer, got '${val('--threads')}'`);
  return {
    quick,
    peers: peers as PeerName[],
    families: list('--family'),
    filter: val('--filter') ?? '',
    out: val('--out'),
    docs: has('--docs') ? true : has('--no-docs') ? false : undefined,
    threads,
  };
}

/** One line per fact about the machine and the software measured. */
function machineLines(opts: Options, peerInfo: Map<string, Record<string, unknown>>): string[] {
  const f = wasmFeatures();
  const b = blasStatus();
  const lines = [
    `CPU: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} threads available, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${platform()} ${arch()}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `nabla: Node ${process.version}, ${opts.threads} threads, WebAssembly SIMD${f.relaxed ? ` + relaxed FMA (${f.relaxedVia})` : ' (no relaxed SIMD)'}; system BLAS: ${b.library ? `${b.library.path}${b.library.config ? ` (${b.library.config})` : ''}` : `none (${b.reason})`}`,
  ];
  for (const [name, info] of peerInfo) {
    const { impls: _impls, ...rest } = info;
    lines.push(`${name}: ${Object.entries(rest).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  }
  return lines;
}

/** Run `families` as the command line says; returns the reports (and writes them). */
export async function runFamilies(families: readonly Family[], argv: readonly string[] = process.argv.slice(2)): Promise<FamilyReport[]> {
  const opts = parseArgs(argv);
  const cfg = opts.quick ? QUICK_TIMING : FULL_TIMING;
  const chosen = opts.families ? families.filter((f) => opts.families!.includes(f.name)) : families;
  if (opts.families) for (const n of opts.families) if (!families.some((f) => f.name === n)) throw new Error(`bench: unknown family '${n}' (known: ${families.map((f) => f.name).join(', ')})`);
  const log = (s: string): void => void process.stdout.write(`${s}\n`);

  const procs: PeerProcess[] = [];
  const peers = new Map<string, Impl>();
  const peerInfo = new Map<string, Record<string, unknown>>();
  const notes: string[] = [];
  for (const p of PEER_NAMES) {
    if (!opts.peers.includes(p)) {
      notes.push(`${p}: not measured (${opts.quick ? '--quick' : '--peers'} left it out)`);
      continue;
    }
    const proc = await startPeer(p);
    if (isSkip(proc)) {
      log(`peer skipped: ${proc.skip}`);
      notes.push(`peer skipped: ${proc.skip}`);
      continue;
    }
    procs.push(proc);
    peerInfo.set(p, proc.info);
    for (const impl of peerImpls(p, proc, opts.threads)) peers.set(impl.name, impl);
  }

  const date = new Date();
  const machine = machineLines(opts, peerInfo);
  log(`nabla benchmarks${opts.quick ? ' (quick)' : ''}, ${date.toISOString()}`);
  for (const m of machine) log(`  ${m}`);
  const ctx: FamilyContext = { quick: opts.quick, cfg, threads: opts.threads, peers, filter: opts.filter, log };
  const reports: FamilyReport[] = [];
  try {
    for (const fam of chosen) {
      log('');
      log(`running ${fam.title} ...`);
      const rep = await fam.run(ctx);
      reports.push(rep);
      for (const l of familyText(rep)) log(l);
    }
  } finally {
    for (const p of procs) p.close();
    shutdownThreads();
  }
  const leaked = memory().liveTensors;
  if (leaked !== 0) throw new Error(`bench: ${leaked} nabla tensors were left alive; a case leaks`);

  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const report = { date: date.toISOString(), command, quick: opts.quick, machine, peerNotes: notes, loadAverageAtEnd: loadavg(), families: reports };
  const file = opts.out ?? join(root, 'bench', 'results', `bench-${date.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log('');
  log(`wrote ${file}`);
  const docs = opts.docs ?? (!opts.quick && !opts.families && !opts.filter && chosen.length === families.length && families.length > 1);
  if (docs) {
    updateDocs(DOCS_FILE, docsSection({ date: date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC', machine: [...machine, ...notes], command }, reports));
    log(`updated ${DOCS_FILE}`);
  }
  return reports;
}

/** True when `url` (a module's import.meta.url) is the script being run. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1]);
}
