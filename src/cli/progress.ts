/**
 * Progress of training for `nabla train lm`: a cli-progress bar on stderr when
 * it is a terminal, plain `formatProgress` lines through the command's output
 * otherwise (every `every` steps and at the last one). `line` prints a
 * message without breaking the bar.
 *
 * (Rebuilt after an accidental overwrite: the same `createReporter` contract
 * trainLm.ts uses.)
 */
import cliProgress from 'cli-progress';
import { formatProgress, type Progress } from '../train/loop.js';

export interface ReporterOptions {
  total: number;
  /** steps already done (a resumed run) */
  start: number;
  /** plain lines: print every this many steps */
  every: number;
  out: (line: string) => void;
  /** force the bar (true) or plain lines (false); default: a bar when stderr is a TTY */
  tty?: boolean;
}

export interface Reporter {
  update(p: Progress): void;
  /** a message between progress updates */
  line(s: string): void;
  stop(): void;
}

export function createReporter(o: ReporterOptions): Reporter {
  const tty = o.tty ?? Boolean(process.stderr.isTTY);
  if (!tty) {
    const every = Math.max(1, o.every);
    return {
      update: (p) => {
        const done = p.step + 1;
        if (done % every === 0 || done === p.totalSteps) o.out(formatProgress(p));
      },
      line: (s) => o.out(s),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: 'step {value}/{total} |{bar}| loss {loss}  {rate} it/s  {tok}  ETA {eta_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    update: (p) => {
      if (!running) {
        bar.start(p.totalSteps, o.start, { loss: '-', rate: '0', tok: '' });
        running = true;
      }
      const tok = p.tokensPerSec > 0 ? `${p.tokensPerSec >= 1000 ? `${(p.tokensPerSec / 1000).toFixed(1)}k` : p.tokensPerSec.toFixed(0)} tok/s` : '';
      bar.update(p.step + 1, { loss: p.loss.toFixed(4), rate: p.stepsPerSec.toFixed(2), tok });
    },
    line: (s) => {
      // clear the bar's line, print, and let the next update redraw it
      if (running) process.stderr.write('\r\x1b[K');
      o.out(s);
    },
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}
