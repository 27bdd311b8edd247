/**
 * The token-mixer interface shared by every sequence family (attention and
 * its efficient forms, recurrent networks, state-space models), so the
 * language model, the benchmarks and the playground can swap one for another.
 *
 * A mixer maps a sequence (b, n, d) to (b, n, d), causally when `causal` is
 * set, and decodes one token at a time with a state it owns: `initState`
 * returns the state for a batch, `step` consumes one position (b, d) and
 * returns its output and the next state. For every causal mixer the property
 * holds: running `step` over positions 0..n−1 equals `forward` on the whole
 * sequence (tests check it).
 */
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../core/random.js';
import type { Module } from '../nn/module.js';

export interface MixerForwardOptions {
  /** PRNG key for dropout inside the mixer (training only) */
  key?: Key;
  /** key padding mask (b, n): true where a position is real, false where it is padding */
  padding?: Tensor;
}

/** A disposable decoding state (KV cache, recurrent state, SSM state, ...). */
export interface MixerState {
  /** free the state's tensors */
  dispose(): void;
  readonly disposed: boolean;
}

export interface Mixer<S extends MixerState = MixerState> extends Module {
  /** the model width d the mixer reads and writes */
  readonly dModel: number;
  /** whether position i sees only positions ≤ i */
  readonly causal: boolean;
  /** (b, n, d) → (b, n, d) */
  forward(x: Tensor, opts?: MixerForwardOptions): Tensor;
  /** the decoding state for `batch` sequences, before any token */
  initState(batch: number): S;
  /** one position: x (b, d) → [y (b, d), next state]; the input state is consumed (disposed or reused) */
  step(x: Tensor, state: S): [Tensor, S];
  /**
   * Optional, for inspection: the (b, h, n, n) weights with which the full
   * pass over x mixes positions, row i over the keys j (softmax attention:
   * softmax(QKᵀ/√d + M); feature-map attention: φ(q)·φ(k) row-normalised).
   * Mixers without such a matrix (recurrent, state-space) leave it out.
   */
  attentionWeights?(x: Tensor, opts?: Pick<MixerForwardOptions, 'padding'>): Tensor;
}

/** Config that names a mixer and its options, for the CLI and the registry of families. */
export interface MixerSpec {
  kind: string;
  [option: string]: unknown;
}

/** A registry so that a family registers its mixers by name; the LM and the benchmarks build them from specs. */
export type MixerFactory = (dModel: number, spec: MixerSpec, key: Key) => Mixer;

const factories = new Map<string, MixerFactory>();

export function registerMixer(kind: string, factory: MixerFactory): void {
  if (factories.has(kind)) throw new Error(`registerMixer: a mixer named '${kind}' is already registered`);
  factories.set(kind, factory);
}

export function createMixer(dModel: number, spec: MixerSpec, key: Key): Mixer {
  const f = factories.get(spec.kind);
  if (!f) throw new Error(`createMixer: unknown mixer '${spec.kind}'; known: ${[...factories.keys()].sort().join(', ') || '(none registered)'}`);
  return f(dModel, spec, key);
}

export function mixerKinds(): string[] {
  return [...factories.keys()].sort();
}
