/**
 * The benchmark GPT (bench/gptModel.ts) in TensorFlow.js, written the way a
 * TensorFlow.js user would: variables, functional layers, `tf.variableGrads`
 * for the gradients, `tf.train.adam` for the moments with AdamW's decoupled
 * weight decay applied to the variables first (TensorFlow.js has no AdamW),
 * GELU (tanh form) and layer norm composed from its ops, the token embedding
 * as a one-hot product (the wasm backend cannot differentiate `gather`).
 * Same shapes, mask,
 * init scales and hyper-parameters as the nabla and PyTorch versions.
 */
import * as tf from '@tensorflow/tfjs';

/** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))); TensorFlow.js has no GELU op. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))));
}

/** Layer norm over the last axis with weight and bias. */
export function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), w), b);
  });
}

interface Spec {
  vocab: number;
  T: number;
  d: number;
  heads: number;
  layers: number;
  batch: number;
}

/** Build the model and data of `spec`; `run` is one training step, `cleanup` frees the variables. */
export function tfjsGptStep(spec: Record<string, unknown>): { run: () => void; cleanup: () => void } {
  const { vocab: V, T, d, heads: H, layers: L, batch: B } = spec as unknown as Spec;
  const dh = d / H;
  const vars: tf.Variable[] = [];
  const v = (t: tf.Tensor): tf.Variable => {
    const x = tf.variable(t);
    t.dispose();
    vars.push(x);
    return x;
  };
  // PyTorch's Linear init: U(−1/√in, 1/√in) for weight and bias; weights stored [in, out]
  const linear = (i: number, o: number, bias = true): [tf.Variable, tf.Variable | null] => {
    const bound = 1 / Math.sqrt(i);
    return [v(tf.randomUniform([i, o], -bound, bound)), bias ? v(tf.randomUniform([o], -bound, bound)) : null];
  };
  const tok = v(tf.randomNormal([V, d], 0, 0.02));
  const pos = v(tf.randomNormal([T, d], 0, 0.02));
  const blocks = Array.from({ length: L }, () => ({
    ln1: [v(tf.ones([d])), v(tf.zeros([d]))] as const,
    wq: linear(d, d),
    wk: linear(d, d),
    wv: linear(d, d),
    wo: linear(d, d),
    ln2: [v(tf.ones([d])), v(tf.zeros([d]))] as const,
    fc1: linear(d, 4 * d),
    fc2: linear(4 * d, d),
  }));
  const lnf = [v(tf.ones([d])), v(tf.zeros([d]))] as const;
  const head = linear(d, V, false);

  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9));
  // the token embedding as one-hot · table: the wasm backend has no kernel for gather's gradient (UnsortedSegmentSum)
  const idx = tf.oneHot(tf.randomUniform([B * T], 0, V, 'int32'), V);
  const targets = tf.oneHot(tf.randomUniform([B * T], 0, V, 'int32'), V);

  const dense = (x: tf.Tensor, [w, b]: [tf.Variable, tf.Variable | null]): tf.Tensor => {
    const shape = x.shape;
    const y = tf.matMul(tf.reshape(x, [-1, shape[shape.length - 1]!]), w);
    return tf.reshape(b ? tf.add(y, b) : y, [...shape.slice(0, -1), w.shape[1]!]);
  };
  const splitHeads = (x: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(x, [B, T, H, dh]), [0, 2, 1, 3]);

  const loss = (): tf.Scalar => {
    let x: tf.Tensor = tf.add(tf.reshape(tf.matMul(idx, tok), [B, T, d]), pos);
    for (const blk of blocks) {
      const h = layerNorm(x, ...blk.ln1);
      const [q, k, vv] = [splitHeads(dense(h, blk.wq)), splitHeads(dense(h, blk.wk)), splitHeads(dense(h, blk.wv))];
      const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), mask), -1);
      const y = tf.reshape(tf.transpose(tf.matMul(att, vv), [0, 2, 1, 3]), [B, T, d]);
      x = tf.add(x, dense(y, blk.wo));
      x = tf.add(x, dense(gelu(dense(layerNorm(x, ...blk.ln2), blk.fc1)), blk.fc2));
    }
    const logits = tf.reshape(dense(layerNorm(x, ...lnf), head), [B * T, V]);
    return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
  };

  const [lr, wd] = [3e-4, 0.1];
  const opt = tf.train.adam(lr, 0.9, 0.95, 1e-8);
  const run = (): void => {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, vars);
      for (const p of vars) p.assign(tf.mul(p, 1 - lr * wd)); // AdamW's decoupled decay, then Adam
      opt.applyGradients(grads as Record<string, tf.Variable>);
      return value;
    }).dispose();
  };
  const cleanup = (): void => {
    opt.dispose();
    for (const x of [...vars, mask, idx, targets]) x.dispose();
  };
  return { run, cleanup };
}
