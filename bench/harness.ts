/**
 * The benchmark harness: how a case is timed, how implementations are run
 * side by side, and what a result records. Families (sgemm.ts,
 * elementwise.ts, threads.ts, gpt.ts) describe cases and implementations;
 * run.ts drives them, prints tables and writes JSON and docs.
 *
 * Timing (the same rule in every implementation, so the numbers compare;
 * bench/peers/torch_bench.py repeats it in Python):
 * 1. Warm up: call until `warmupMs` has passed (at least once). A first call
 *    slower than a second counts as a sample too: its compile cost is noise.
 * 2. Calibrate: each sample makes enough calls to last ≥ `minSampleMs`, so
 *    the timer's resolution and per-sample jitter do not matter.
 * 3. Sample up to `samples` times, stopping early once `budgetMs` is spent
 *    and `minSamples` were taken (one, when a call alone eats a third of the
 *    budget).
 * The report is the median time per call with the interquartile range and
 * the min/max as spreads. A case is skipped for an implementation when its
 * previous size in the same series predicts a call over `maxCallMs` (e.g.
 * TensorFlow.js' wasm backend on transposed 2048² products: ~75 s a call).
 */

export interface TimingConfig {
  warmupMs: number;
  minSampleMs: number;
  samples: number;
  minSamples: number;
  budgetMs: number;
  /** skip a case predicted to take longer than this per call */
  maxCallMs: number;
}

export const FULL_TIMING: TimingConfig = { warmupMs: 300, minSampleMs: 60, samples: 9, minSamples: 3, budgetMs: 5000, maxCallMs: 20_000 };
export const QUICK_TIMING: TimingConfig = { warmupMs: 5, minSampleMs: 2, samples: 3, minSamples: 1, budgetMs: 200, maxCallMs: 2000 };

/** Raw timings: milliseconds per call, one entry per sample. */
export interface Timing {
  perCallMs: number[];
  callsPerSample: number;
  /** what ran, when it is worth saying (e.g. 'reference kernel') */
  note?: string;
}

export interface Skip {
  skip: string;
}

export const isSkip = (x: unknown): x is Skip => typeof x === 'object' && x !== null && typeof (x as Skip).skip === 'string';

/** Time a synchronous call by the rule in the module comment. */
export function measure(run: () => void, cfg: TimingConfig): Timing {
  const clock = (n: number): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) run();
    return performance.now() - t0;
  };
  return plan(cfg, clock);
}

/** Time an asynchronous call (a peer that must await, e.g. onnxruntime's `session.run`). */
export async function measureAsync(run: () => Promise<void>, cfg: TimingConfig): Promise<Timing> {
  // the same plan as `measure`, with an awaiting clock
  const warm: number[] = [];
  const clock = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await run();
    return performance.now() - t0;
  };
  let spentWarm = 0;
  do {
    const t = await clock(1);
    warm.push(t);
    spentWarm += t;
  } while (spentWarm < cfg.warmupMs && warm.length < 1000);
  const { per, perCall, minSamples } = calibrate(warm, cfg);
  let spent = perCall.reduce((s, x) => s + x, 0);
  while (perCall.length < cfg.samples && !(perCall.length >= minSamples && spent >= cfg.budgetMs)) {
    const dt = await clock(per);
    perCall.push(dt / per);
    spent += dt;
  }
  return { perCallMs: perCall, callsPerSample: per };
}

/** From the warm-up times: calls per sample, the samples already had (a slow first call), and the least number of samples. */
export function calibrate(warm: number[], cfg: TimingConfig): { per: number; perCall: number[]; minSamples: number } {
  const est = Math.max(warm[warm.length - 1]!, 1e-4);
  const per = Math.max(1, Math.ceil(cfg.minSampleMs / est));
  // a single warm-up call that took long (≥ 1 s) is already a faithful sample
  const perCall = warm.length === 1 && est >= 1000 ? [est] : [];
  const minSamples = est * per > cfg.budgetMs / 3 ? 1 : cfg.minSamples;
  return { per, perCall, minSamples };
}

function plan(cfg: TimingConfig, clock: (n: number) => number): Timing {
  const warm: number[] = [];
  let spentWarm = 0;
  do {
    const t = clock(1);
    warm.push(t);
    spentWarm += t;
  } while (spentWarm < cfg.warmupMs && warm.length < 1000);
  const { per, perCall, minSamples } = calibrate(warm, cfg);
  let spent = perCall.reduce((s, x) => s + x, 0);
  while (perCall.length < cfg.samples && !(perCall.length >= minSamples && spent >= cfg.budgetMs)) {
    const dt = clock(per);
    perCall.push(dt / per);
    spent += dt;
  }
  return { perCallMs: perCall, callsPerSample: per };
}

export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Stats {
  medianMs: number;
  q1Ms: number;
  q3Ms: number;
  minMs: number;
  maxMs: number;
  samples: number;
  callsPerSample: number;
}

export function summarize(t: Timing): Stats {
  const s = [...t.perCallMs].sort((a, b) => a - b);
  return { medianMs: quantile(s, 0.5), q1Ms: quantile(s, 0.25), q3Ms: quantile(s, 0.75), minMs: s[0]!, maxMs: s[s.length - 1]!, samples: s.length, callsPerSample: t.callsPerSample };
}

// ---- cases, implementations, results ------------------------------------------

export type Unit = 'GFLOP/s' | 'Melem/s' | 'tokens/s' | 'x';

/** One benchmark case: a JSON spec every implementation understands, and the work one call does. */
export interface BenchCase {
  family: string;
  name: string;
  /** handed to peers as is */
  spec: Record<string, unknown>;
  /** work per call in `unit` × 1e9 (GFLOP/s), × 1e6 (Melem/s) or × 1 (tokens/s) */
  work: number;
  unit: Unit;
  /** cases of one series grow in size; a slow implementation is skipped on the next sizes */
  series: string;
  /** the cost that predicts time within the series, when not proportional to `work` (e.g. flops of a GPT step) */
  cost?: number;
}

/** An implementation of a family's cases: nabla in process, or a peer in a child process. */
export interface Impl {
  name: string;
  /** time one case, or say why it is skipped */
  run(c: BenchCase, cfg: TimingConfig): Promise<Timing | Skip>;
}

export type Measurement =
  | ({ impl: string; ok: true; throughput: number; unit: Unit; note?: string } & Stats)
  | { impl: string; ok: false; skipped: string };

export interface CaseResult {
  family: string;
  name: string;
  spec: Record<string, unknown>;
  unit: Unit;
  results: Measurement[];
}

/** Throughput of one call of `ms` milliseconds. */
export function throughput(c: BenchCase, ms: number): number {
  const scale = c.unit === 'GFLOP/s' ? 1e9 : c.unit === 'Melem/s' ? 1e6 : 1;
  return c.work / scale / (ms / 1000);
}

/**
 * Run every case on every implementation, implementations in turn within a
 * case (so the host's noise falls on all of them alike). `skipFor` lets a
 * family leave out what an implementation cannot do or is too slow for.
 */
export async function runCases(
  cases: readonly BenchCase[],
  impls: readonly Impl[],
  cfg: TimingConfig,
  opts: { skipFor?: (impl: string, c: BenchCase) => string | undefined; onResult?: (c: BenchCase, m: Measurement) => void } = {},
): Promise<CaseResult[]> {
  const rate = new Map<string, number>(); // work per ms, by impl and series
  const out: CaseResult[] = [];
  for (const c of cases) {
    const results: Measurement[] = [];
    for (const impl of impls) {
      const key = `${impl.name}|${c.series}`;
      const known = rate.get(key);
      const cost = c.cost ?? c.work;
      const predicted = known ? cost / known : 0;
      let m: Measurement;
      const reason = opts.skipFor?.(impl.name, c) ?? (predicted > cfg.maxCallMs ? `predicted ${(predicted / 1000).toFixed(0)} s per call from the previous size` : undefined);
      if (reason) m = { impl: impl.name, ok: false, skipped: reason };
      else {
        let t: Timing | Skip;
        try {
          t = await impl.run(c, cfg);
        } catch (e) {
          t = { skip: `failed: ${(e as Error).message.split('\n')[0]}` };
        }
        if (isSkip(t)) m = { impl: impl.name, ok: false, skipped: t.skip };
        else {
          const s = summarize(t);
          rate.set(key, cost / s.medianMs);
          m = { impl: impl.name, ok: true, throughput: throughput(c, s.medianMs), unit: c.unit, ...s, ...(t.note ? { note: t.note } : {}) };
        }
      }
      results.push(m);
      opts.onResult?.(c, m);
    }
    out.push({ family: c.family, name: c.name, spec: c.spec, unit: c.unit, results });
  }
  return out;
}

// ---- families ------------------------------------------------------------------

/** What a family gets from the driver. */
export interface FamilyContext {
  quick: boolean;
  cfg: TimingConfig;
  /** threads nabla and the peers use (the machine's cores) */
  threads: number;
  /** the running peers' implementations by name ('torch', 'tfjs-wasm', ...) */
  peers: ReadonlyMap<string, Impl>;
  /** only cases whose name contains this */
  filter: string;
  log(line: string): void;
}

/** A free-form table a family adds (e.g. thread speedups). */
export interface ExtraTable {
  title: string;
  header: string[];
  rows: string[][];
}

export interface FamilyReport {
  family: string;
  title: string;
  cases: CaseResult[];
  /** ratio columns: throughput of the first implementation over the second */
  ratios: [string, string][];
  notes: string[];
  extra?: ExtraTable[];
}

export interface Family {
  name: string;
  title: string;
  run(ctx: FamilyContext): Promise<FamilyReport>;
}

/** The peers of `names` that are running, in that order. */
export function pickPeers(ctx: FamilyContext, names: readonly string[]): Impl[] {
  return names.map((n) => ctx.peers.get(n)).filter((p): p is Impl => p !== undefined);
}

/** A progress line per measurement (long runs say what they are doing). */
export function progress(log: (line: string) => void): (c: BenchCase, m: Measurement) => void {
  return (c, m) => log(`  ${c.name} · ${m.impl}: ${m.ok ? `${m.throughput.toPrecision(3)} ${m.unit}` : `skipped (${m.skipped})`}`);
}

/** Throughput of `impl` on the case named `name`, if it ran. */
export function rateOf(cases: readonly CaseResult[], name: string, impl: string): number | undefined {
  const m = cases.find((c) => c.name === name)?.results.find((r) => r.impl === impl);
  return m?.ok ? m.throughput : undefined;
}

/** A row of a targets table: what, measured ratio, goal, met or not (— when a side did not run). */
export function targetRow(what: string, num: number | undefined, den: number | undefined, goal: number): string[] {
  if (num === undefined || den === undefined) return [what, '—', `≥ ${goal}x`, '—'];
  const r = num / den;
  return [what, `${r.toFixed(2)}x`, `≥ ${goal}x`, r >= goal ? 'met' : 'not met'];
}

export const TARGET_HEADER = ['figure (issue 3)', 'measured', 'target', ''];
