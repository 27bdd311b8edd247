/**
 * Training checkpoints on disk, crash-safe as a whole.
 *
 * A checkpoint is a directory `ckpt-<step>` under a root:
 *   model.safetensors      the weights (readable by PyTorch/JAX as they are)
 *   optimizer.safetensors  the optimiser's state buffers; counters in its metadata
 *   ema.safetensors        averaged weights, when an EMA is kept
 *   trainer.json           step, loss-scale state, and any JSON the caller adds
 *                          (config, RNG keys, data position, metrics)
 * and `latest.json` in the root names the newest complete one.
 *
 * Why a pointer file rather than overwriting files in place: a checkpoint is
 * several files, and a crash between two renames would pair new weights with
 * an old optimiser. Instead each checkpoint is written in full under a
 * temporary name, fsynced and renamed into place, and only then is
 * `latest.json` replaced atomically (`atomicWriteFileSync`). A crash at any
 * moment leaves `latest.json` naming a complete checkpoint. Older checkpoints
 * beyond `keep` are deleted after the pointer moves.
 */
import { Tensor } from '../core/tensor.js';
import { isFloat } from '../core/dtype.js';
import { shapeStr, shapesEqual } from '../core/shape.js';
import { isContiguous } from '../backends/cpu/strided.js';
import { atomicWriteFileSync } from '../io/atomicWrite.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { nodeFs, nodePath } from '../io/node.js';
import { copyInto } from '../optim/inplace.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { optimizerStateToTensors, type SavedOptimizerState } from '../optim/state.js';
import type { EmaState } from '../optim/ema.js';
import type { LossScaleState } from './lossScale.js';

export interface CheckpointContents {
  /** updates applied so far */
  step: number;
  model: Readonly<Record<string, Tensor>>;
  optimizer?: OptimizerState;
  ema?: EmaState;
  lossScale?: LossScaleState;
  /** any JSON-serialisable data: config, RNG keys, data-loader position, metrics */
  state?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  step: number;
  /** the checkpoint directory */
  dir: string;
  model: Record<string, Tensor>;
  /** pass to `restoreOptimizerState(optimizer.init(params), saved)` */
  optimizer?: SavedOptimizerState;
  ema?: EmaState;
  lossScale?: LossScaleState;
  state?: Record<string, unknown>;
}

interface Pointer {
  dir: string;
  step: number;
  /** newest first */
  history: string[];
}

const POINTER = 'latest.json';
const OPT_META = 'nabla.optimizer';
const EMA_META = 'nabla.ema.step';

function stepDirName(step: number): string {
  return `ckpt-${String(step).padStart(9, '0')}`;
}

function readPointer(root: string): Pointer | undefined {
  const fs = nodeFs('loadCheckpoint');
  const P = nodePath('loadCheckpoint');
  const file = P.join(root, POINTER);
  if (!fs.existsSync(file)) return undefined;
  let p: Partial<Pointer>;
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Pointer>;
  } catch (e) {
    throw new Error(`checkpoint: ${file} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const safe = (d: unknown): d is string => typeof d === 'string' && /^ckpt-\d+(-r\d+)?$/.test(d);
  if (!p || !safe(p.dir) || !Number.isInteger(p.step) || !Array.isArray(p.history) || !p.history.every(safe)) {
    throw new Error(`checkpoint: ${file} must be {dir, step, history} naming ckpt-<step> directories`);
  }
  return p as Pointer;
}

/** Steps and directories of the checkpoints `latest.json` knows, newest first. */
export function listCheckpoints(root: string): { step: number; dir: string }[] {
  const p = readPointer(root);
  if (!p) return [];
  const P = nodePath('listCheckpoints');
  return p.history.map((d) => ({ step: Number(/^ckpt-(\d+)/.exec(d)![1]), dir: P.join(root, d) }));
}

function removeDir(path: string): void {
  nodeFs('saveCheckpoint').rmSync(path, { recursive: true, force: true });
}

/** Remove temporary checkpoint directories whose writer died mid-save. */
function removeStaleTemps(root: string): void {
  const fs = nodeFs('saveCheckpoint');
  for (const n of fs.readdirSync(root)) {
    const m = /^\.ckpt-\d+\.tmp-(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) removeDir(nodePath('saveCheckpoint').join(root, n));
  }
}

/**
 * Save a checkpoint under `root` and point `latest.json` at it; keeps the
 * newest `keep` checkpoints (default 3). Returns the checkpoint's directory.
 */
export function saveCheckpoint(root: string, c: CheckpointContents, opts: { keep?: number } = {}): string {
  const fs = nodeFs('saveCheckpoint');
  const P = nodePath('saveCheckpoint');
  const keep = opts.keep ?? 3;
  if (!Number.isInteger(c.step) || c.step < 0) throw new Error(`saveCheckpoint: step must be a non-negative integer, got ${c.step}`);
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`saveCheckpoint: keep must be a positive integer, got ${keep}`);
  if (!c.model || typeof c.model !== 'object') throw new Error('saveCheckpoint: model must be a record of name → Tensor');
  fs.mkdirSync(root, { recursive: true });
  removeStaleTemps(root);

  const base = stepDirName(c.step);
  const rand = Math.floor(Math.random() * 2 ** 32).toString(16);
  const tmp = P.join(root, `.${base}.tmp-${process.pid}-${rand}`);
  fs.mkdirSync(tmp);
  try {
    saveSafetensors(P.join(tmp, 'model.safetensors'), c.model, { 'nabla.step': String(c.step) });
    if (c.optimizer) {
      const s = optimizerStateToTensors(c.optimizer);
      saveSafetensors(P.join(tmp, 'optimizer.safetensors'), s.tensors, { [OPT_META]: s.meta });
    }
    if (c.ema) saveSafetensors(P.join(tmp, 'ema.safetensors'), c.ema.shadow, { [EMA_META]: String(c.ema.step) });
    const trainer = { step: c.step, lossScale: c.lossScale ?? null, state: c.state ?? null };
    atomicWriteFileSync(P.join(tmp, 'trainer.json'), new TextEncoder().encode(JSON.stringify(trainer, null, 1)));
  } catch (e) {
    removeDir(tmp);
    throw e;
  }
  // a fresh name, so a checkpoint that latest.json may name is never touched
  let name = base;
  for (let k = 1; fs.existsSync(P.join(root, name)); k++) name = `${base}-r${k}`;
  fs.renameSync(tmp, P.join(root, name));

  const prev = readPointer(root);
  const history = [name, ...(prev?.history ?? []).filter((d) => d !== name)];
  const kept = history.slice(0, keep);
  const pointer: Pointer = { dir: name, step: c.step, history: kept };
  // atomicWriteFileSync fsyncs the root directory, which also makes the rename above durable
  atomicWriteFileSync(P.join(root, POINTER), new TextEncoder().encode(JSON.stringify(pointer, null, 1)));
  for (const d of history.slice(keep)) removeDir(P.join(root, d));
  return P.join(root, name);
}

/** Load the newest checkpoint under `root` (or the newest one of a given step). */
export function loadCheckpoint(root: string, opts: { step?: number } = {}): LoadedCheckpoint {
  const fs = nodeFs('loadCheckpoint');
  const P = nodePath('loadCheckpoint');
  const p = readPointer(root);
  if (!p) throw new Error(`loadCheckpoint: no checkpoint under ${root} (no ${POINTER})`);
  let name = p.dir;
  if (opts.step !== undefined) {
    const found = p.history.find((d) => Number(/^ckpt-(\d+)/.exec(d)![1]) === opts.step);
    if (!found) throw new Error(`loadCheckpoint: no checkpoint of step ${opts.step} under ${root} (have ${listCheckpoints(root).map((x) => x.step).join(', ')})`);
    name = found;
  }
  const dir = P.join(root, name);
  const trainerFile = P.join(dir, 'trainer.json');
  let trainer: { step?: unknown; lossScale?: LossScaleState | null; state?: Record<string, unknown> | null };
  try {
    trainer = JSON.parse(fs.readFileSync(trainerFile, 'utf8'));
  } catch (e) {
    throw new Error(`loadCheckpoint: cannot read ${trainerFile}: ${(e as Error).message}`, { cause: e });
  }
  if (!Number.isInteger(trainer.step)) throw new Error(`loadCheckpoint: ${trainerFile} has no integer step`);
  const out: LoadedCheckpoint = { step: trainer.step as number, dir, model: loadSafetensors(P.join(dir, 'model.safetensors')).tensors };
  const optFile = P.join(dir, 'optimizer.safetensors');
  if (fs.existsSync(optFile)) {
    const s = loadSafetensors(optFile);
    const meta = s.metadata[OPT_META];
    if (meta === undefined) throw new Error(`loadCheckpoint: ${optFile} has no '${OPT_META}' metadata`);
    out.optimizer = { tensors: s.tensors, meta };
  }
  const emaFile = P.join(dir, 'ema.safetensors');
  if (fs.existsSync(emaFile)) {
    const s = loadSafetensors(emaFile);
    const step = Number(s.metadata[EMA_META]);
    if (!Number.isInteger(step) || step < 0) throw new Error(`loadCheckpoint: ${emaFile} has no valid '${EMA_META}' metadata`);
    out.ema = { step, shadow: s.tensors };
  }
  if (trainer.lossScale) out.lossScale = trainer.lossScale;
  if (trainer.state) out.state = trainer.state;
  return out;
}

/**
 * Copy loaded weights into a model's parameters in place (rounding to each
 * parameter's dtype). Shapes must match; with `strict` (default) every
 * parameter must be in the file and every tensor in the file must be used.
 */
export function assignWeights(
  params: Readonly<Record<string, Tensor>>,
  loaded: Readonly<Record<string, Tensor>>,
  opts: { strict?: boolean } = {},
): { missing: string[]; unexpected: string[] } {
  const strict = opts.strict ?? true;
  const missing: string[] = [];
  const pending: [Tensor, Tensor][] = [];
  for (const [name, p] of Object.entries(params)) {
    const src = loaded[name];
    if (!src) {
      missing.push(name);
      continue;
    }
    if (!shapesEqual(src.shape, p.shape)) throw new Error(`assignWeights: tensor '${name}' is ${shapeStr(src.shape)} in the checkpoint but ${shapeStr(p.shape)} in the model`);
    if (!isFloat(src.dtype) || !isFloat(p.dtype)) {
      if (src.dtype !== p.dtype) throw new Error(`assignWeights: tensor '${name}' is ${src.dtype} in the checkpoint but ${p.dtype} in the model`);
    }
    pending.push([p, src]);
  }
  const unexpected = Object.keys(loaded).filter((n) => !(n in params));
  if (strict && (missing.length > 0 || unexpected.length > 0)) {
    const list = (xs: string[]): string => xs.slice(0, 10).map((x) => `'${x}'`).join(', ') + (xs.length > 10 ? ` and ${xs.length - 10} more` : '');
    const parts = [missing.length ? `missing from the checkpoint: ${list(missing)}` : '', unexpected.length ? `not in the model: ${list(unexpected)}` : ''].filter(Boolean);
    throw new Error(`assignWeights: ${parts.join('; ')} (pass strict: false to load the rest)`);
  }
  for (const [p, src] of pending) {
    if (isFloat(p.dtype)) copyInto(p, src);
    else if (isContiguous(p.shape, p.strides)) p.storage.backend.write(p.storage, src.toF64(), p.offset);
    else throw new Error(`assignWeights: integer tensor '${src.name ?? ''}' ${p.describe()} is a strided view; cannot assign in place`);
  }
  return { missing, unexpected };
}
