/**
 * A quality proxy for generated images: a small classifier trained by nabla
 * on real data scores the samples. For class-conditional samples the
 * classifier's accuracy against the requested labels is the number; for
 * unconditional ones, its confidence (mean max-probability), the entropy of
 * the predicted label histogram (diverse samples cover the classes: ln 10 for
 * ten balanced classes) and their combination exp(E[KL(p(y|x) ‖ p(y))]), the
 * Inception Score of Salimans et al. (arXiv 1606.03498, §4) with our
 * classifier in place of Inception.
 */
import type { Tensor } from '../../core/tensor.js';
import type { Key } from '../../core/random.js';
import { tidy } from '../../core/memory.js';
import { tensor } from '../../ops/creation.js';
import { softmax, crossEntropy } from '../../ops/nn.js';
import { reshape } from '../../ops/views.js';
import { foldIn } from '../../ops/random.js';
import { MLP } from '../../nn/mlp.js';
import { fit } from '../diffusion/train.js';
import { sampleBatch } from '../data/digits.js';

export interface ClassifierOptions {
  key: Key;
  /** number of classes (default: 1 + the largest label) */
  classes?: number;
  /** hidden widths (default [128, 128]) */
  hidden?: number[];
  steps?: number;
  batch?: number;
  lr?: number;
}

export interface Classifier {
  readonly classes: number;
  /** class probabilities (n, C) as a plain array, n × C row-major */
  probabilities(x: Tensor): Float64Array;
  /** the most probable class of each row */
  predict(x: Tensor): Int32Array;
  /** fraction of rows whose prediction equals the label */
  accuracy(x: Tensor, labels: Int32Array): number;
}

/** Train an MLP classifier on x (n, …) with integer labels (AdamW, cross-entropy). */
export function trainClassifier(x: Tensor, labels: Int32Array, opts: ClassifierOptions): Classifier {
  const n = x.shape[0]!;
  if (labels.length !== n) throw new Error(`trainClassifier: ${labels.length} labels for ${n} examples`);
  const classes = opts.classes ?? Math.max(...labels) + 1;
  const d = x.size / n;
  const net = new MLP(d, opts.hidden ?? [128, 128], classes, { key: opts.key, activation: 'relu' });
  const flat = reshape(x, [n, d]);
  const batch = opts.batch ?? 128;
  fit(
    net,
    (k) =>
      tidy(() => {
        const b = sampleBatch(k, flat, batch, labels);
        return crossEntropy(net.forward(b.x), tensor(b.labels!, [batch], { dtype: 'i32' }));
      }),
    { steps: opts.steps ?? 400, key: foldIn(opts.key, 1), lr: opts.lr ?? 3e-3 },
  );
  flat.dispose();
  const probabilities = (xs: Tensor): Float64Array => tidy(() => softmax(net.forward(reshape(xs, [xs.shape[0]!, d])), -1).toF64());
  const predict = (xs: Tensor): Int32Array => {
    const p = probabilities(xs);
    const m = xs.shape[0]!;
    const out = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (p[i * classes + c]! > p[i * classes + best]!) best = c;
      out[i] = best;
    }
    return out;
  };
  return {
    classes,
    probabilities,
    predict,
    accuracy(xs, ls) {
      if (ls.length !== xs.shape[0]) throw new Error(`accuracy: ${ls.length} labels for ${xs.shape[0]} examples`);
      const p = predict(xs);
      let ok = 0;
      p.forEach((c, i) => (ok += c === ls[i] ? 1 : 0));
      return ok / ls.length;
    },
  };
}

export interface SampleScore {
  /** mean max-probability */
  confidence: number;
  /** entropy (nats) of the histogram of predicted labels */
  labelEntropy: number;
  /** exp(E_x KL(p(y|x) ‖ p(y))) */
  inceptionScore: number;
  /** counts of predicted labels */
  histogram: number[];
}

/** Score unconditional samples with a classifier. */
export function classifierScore(classifier: Classifier, samples: Tensor): SampleScore {
  const C = classifier.classes;
  const p = classifier.probabilities(samples);
  const n = samples.shape[0]!;
  const marginal = new Array<number>(C).fill(0);
  const histogram = new Array<number>(C).fill(0);
  let confidence = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < C; c++) {
      marginal[c]! += p[i * C + c]! / n;
      if (p[i * C + c]! > p[i * C + best]!) best = c;
    }
    confidence += p[i * C + best]! / n;
    histogram[best]! += 1;
  }
  let kl = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) {
    const q = p[i * C + c]!;
    if (q > 0) kl += (q * Math.log(q / marginal[c]!)) / n;
  }
  let labelEntropy = 0;
  for (const h of histogram) if (h > 0) labelEntropy -= (h / n) * Math.log(h / n);
  return { confidence, labelEntropy, inceptionScore: Math.exp(kl), histogram };
}
