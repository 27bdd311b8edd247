/**
 * Progress of long work: a cli-progress bar (steps, loss, steps/s, ETA) on
 * stderr when it is a terminal, and plain lines through the command's output
 * otherwise (logs, CI, tests), about twenty per run plus the last step.
 */
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  /** step is the number of steps done so far; fields are shown after the count (e.g. { loss: '0.1234' }) */
  update(step: number, fields: Record<string, string>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** what is being counted (default 'step') */
  unit?: string;
  /** force the bar (true) or plain lines (false); default: a bar when stderr is a TTY */
  tty?: boolean;
  /** plain lines: print every this many steps (default total/20) */
  every?: number;
}

/** 42s, 3m05s, 1h02m (rounded first, so never '2m60s'). */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  const m = Math.round(t / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A reporter for steps start+1 … total (start > 0 when resuming). */
export function progress(total: number, start: number, out: (line: string) => void, opts: ProgressOptions = {}): ProgressReporter {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const unit = opts.unit ?? 'step';
  const t0 = performance.now();
  const rate = (step: number): number => (step - start) / Math.max(1e-9, (performance.now() - t0) / 1000);
  if (tty) {
    const bar = new cliProgress.SingleBar(
      { format: `${unit} {value}/{total} |{bar}| {fields} {rate} ${unit}s/s ETA {eta_formatted}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { fields: '', rate: '0.0' });
    return {
      update: (step, fields) =>
        bar.update(step, {
          fields: Object.entries(fields)
            .map(([k, v]) => `${k} ${v}`)
            .join('  '),
          rate: rate(step).toFixed(1),
        }),
      stop: () => bar.stop(),
    };
  }
  const every = opts.every ?? Math.max(1, Math.round((total - start) / 20));
  let last = start;
  return {
    update: (step, fields) => {
      if (step !== total && step - last < every) return;
      last = step;
      const r = rate(step);
      const eta = formatSeconds((total - step) / r);
      const f = Object.entries(fields)
        .map(([k, v]) => `${k} ${v}`)
        .join('  ');
      out(`${unit} ${String(step).padStart(String(total).length)}/${total}  ${f}  ${r.toFixed(1)} ${unit}s/s  ETA ${eta}`);
    },
    stop: () => {},
  };
}
