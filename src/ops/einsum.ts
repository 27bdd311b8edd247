/**
 * Einstein summation, `einsum('bij,bjk->bik', a, b)`, as a composite: the spec
 * is parsed and validated, then lowered to sums, permutes, reshapes and one
 * matmul per pair of operands (a batched GEMM is far faster than a broadcast
 * multiply followed by a sum, and it needs no intermediate of the full
 * index space). Gradients come from those primitives.
 *
 * Supported: any number of operands; letters a-z and A-Z as indices; explicit
 * output after `->` or the implicit one (the indices that appear exactly once,
 * in ASCII order, so upper case first, as in NumPy); `...` for broadcast
 * leading axes (they must appear in the output when any operand has them).
 * Not supported: an index repeated within one operand (a trace or diagonal).
 */
import { Tensor } from '../core/tensor.js';
import { shapeStr } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { permute, reshape } from './views.js';
import { sum } from './reduce.js';
import { mul } from './elementwise.js';
import { matmulT } from './matmul.js';

/** An operand during lowering: a tensor with one label per axis. Ellipsis axes get the labels '.0', '.1', ... */
interface Term {
  t: Tensor;
  labels: string[];
}

interface ParsedSpec {
  inputs: string[][];
  output: string[];
  sizes: Map<string, number>;
}

const LETTER = /^[A-Za-z]$/;

/** Split one subscript string into letters and at most one ellipsis; `where` names it in errors. */
function splitSubscripts(spec: string, s: string, where: string): { letters: string[]; ellipsisAt: number } {
  let ellipsisAt = -1;
  const letters: string[] = [];
  for (let i = 0; i < s.length; ) {
    if (s.startsWith('...', i)) {
      if (ellipsisAt >= 0) throw new Error(`einsum: '${spec}': ${where} '${s}' has more than one '...'`);
      ellipsisAt = letters.length;
      i += 3;
      continue;
    }
    const c = s[i]!;
    if (!LETTER.test(c)) throw new Error(`einsum: '${spec}': invalid character '${c}' in ${where} '${s}' (indices are letters a-z, A-Z; '...' for broadcast axes)`);
    if (letters.includes(c)) {
      throw new Error(`einsum: '${spec}': ${where} '${s}' repeats index '${c}' (traces and diagonals are not supported; take them with diagonal/sum first)`);
    }
    letters.push(c);
    i++;
  }
  return { letters, ellipsisAt };
}

function ellipsisLabels(count: number, total: number): string[] {
  return Array.from({ length: count }, (_, i) => `.${total - count + i}`);
}

/** Parse and check `spec` against the operand shapes; resolves every label's size. */
function parse(spec: string, xs: readonly Tensor[]): ParsedSpec {
  if (typeof spec !== 'string') throw new Error(`einsum: spec must be a string, got ${typeof spec}`);
  const clean = spec.replace(/\s+/g, '');
  const arrow = clean.indexOf('->');
  if (arrow >= 0 && clean.indexOf('->', arrow + 1) >= 0) throw new Error(`einsum: '${spec}' has more than one '->'`);
  const lhs = arrow >= 0 ? clean.slice(0, arrow) : clean;
  const terms = lhs.split(',');
  if (terms.length !== xs.length) {
    throw new Error(`einsum: '${spec}' names ${terms.length} operand${terms.length === 1 ? '' : 's'} but ${xs.length} tensor${xs.length === 1 ? ' was' : 's were'} given`);
  }
  xs.forEach((x, k) => {
    if (!(x instanceof Tensor)) throw new Error(`einsum: operand ${k} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
    x.assertAlive('einsum', `operand ${k}`);
  });

  const split = terms.map((s, k) => splitSubscripts(spec, s, `operand ${k} subscripts`));
  // rank of the ellipsis part of each operand, and of the broadcast of them all
  const eRanks = split.map(({ letters, ellipsisAt }, k) => {
    const x = xs[k]!;
    const extra = x.ndim - letters.length;
    if (ellipsisAt < 0 ? extra !== 0 : extra < 0) {
      throw new Error(`einsum: '${spec}': operand ${k} has subscripts '${terms[k]}' (${letters.length} ${letters.length === 1 ? 'index' : 'indices'}${ellipsisAt >= 0 ? ' and ...' : ''}) but is ${shapeStr(x.shape)} (rank ${x.ndim})`);
    }
    return ellipsisAt < 0 ? 0 : extra;
  });
  const eTotal = Math.max(0, ...eRanks);

  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  const inputs = split.map(({ letters, ellipsisAt }, k) => {
    const labels = ellipsisAt < 0 ? letters.slice() : [...letters.slice(0, ellipsisAt), ...ellipsisLabels(eRanks[k]!, eTotal), ...letters.slice(ellipsisAt)];
    labels.forEach((l, ax) => {
      const d = xs[k]!.shape[ax]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      if (prev !== undefined && prev !== d) {
        if (l.startsWith('.')) {
          if (prev !== 1 && d !== 1) throw new Error(`einsum: '${spec}': the '...' axes do not broadcast: operand ${k} is ${shapeStr(xs[k]!.shape)} (size ${d} against ${prev} in an earlier operand)`);
        } else {
          throw new Error(`einsum: '${spec}': index '${l}' has size ${prev} in operand ${seenIn.get(l)} but ${d} in operand ${k} (${shapeStr(xs[k]!.shape)})`);
        }
      }
      if (!seenIn.has(l)) seenIn.set(l, k);
    });
    return labels;
  });

  let output: string[];
  const eAll = ellipsisLabels(eTotal, eTotal);
  if (arrow >= 0) {
    const rhs = clean.slice(arrow + 2);
    const { letters, ellipsisAt } = splitSubscripts(spec, rhs, 'output');
    for (const l of letters) if (!sizes.has(l)) throw new Error(`einsum: '${spec}': output index '${l}' does not appear in any operand`);
    if (eTotal > 0 && ellipsisAt < 0) throw new Error(`einsum: '${spec}': the operands have '...' axes but the output '${rhs}' has no '...'`);
    output = ellipsisAt < 0 ? letters : [...letters.slice(0, ellipsisAt), ...eAll, ...letters.slice(ellipsisAt)];
  } else {
    const counts = new Map<string, number>();
    for (const labels of inputs) for (const l of labels) if (!l.startsWith('.')) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([, c]) => c === 1).map(([l]) => l).sort();
    output = [...eAll, ...once];
  }
  return { inputs, output, sizes };
}

/** Sum away the axes whose labels are in neither `other` nor `keep`. */
function reduceUnused(x: Term, other: readonly string[], keep: ReadonlySet<string>): Term {
  const axes = x.labels.flatMap((l, i) => (other.includes(l) || keep.has(l) ? [] : [i]));
  if (axes.length === 0) return x;
  return { t: sum(x.t, axes), labels: x.labels.filter((_, i) => !axes.includes(i)) };
}

function arrange(x: Term, order: readonly string[]): Tensor {
  return permute(x.t, order.map((l) => x.labels.indexOf(l)));
}

const prod = (x: Term, labels: readonly string[]): number => labels.reduce((p, l) => p * x.t.shape[x.labels.indexOf(l)]!, 1);

/**
 * Contract two terms over the labels they share that are not kept; shared
 * kept labels are batch axes, the rest are free rows (x) and columns (y):
 * x → [batch, M, K], y → [batch, K, N], one matmul, reshape back.
 */
function contract(x: Term, y: Term, keep: ReadonlySet<string>): Term {
  x = reduceUnused(x, y.labels, keep);
  y = reduceUnused(y, x.labels, keep);
  const batch = x.labels.filter((l) => y.labels.includes(l) && keep.has(l));
  const inner = x.labels.filter((l) => y.labels.includes(l) && !keep.has(l));
  const xFree = x.labels.filter((l) => !y.labels.includes(l));
  const yFree = y.labels.filter((l) => !x.labels.includes(l));
  const bx = batch.map((l) => x.t.shape[x.labels.indexOf(l)]!);
  const by = batch.map((l) => y.t.shape[y.labels.indexOf(l)]!);
  const [M, N, K] = [prod(x, xFree), prod(y, yFree), prod(x, inner)];
  const xm = reshape(arrange(x, [...batch, ...xFree, ...inner]), [...bx, M, K]);
  const ym = reshape(arrange(y, [...batch, ...inner, ...yFree]), [...by, K, N]);
  // no shared index to sum: a broadcast product is the cheaper outer product
  const z = inner.length === 0 ? mul(xm, ym) : matmulT(xm, ym);
  const freeSizes = [...xFree.map((l) => x.t.shape[x.labels.indexOf(l)]!), ...yFree.map((l) => y.t.shape[y.labels.indexOf(l)]!)];
  const batchOut = z.shape.slice(0, batch.length);
  return { t: reshape(z, [...batchOut, ...freeSizes]), labels: [...batch, ...xFree, ...yFree] };
}

/**
 * Einstein summation over the operands: e.g. 'ij,jk->ik' (matmul),
 * 'bhqd,bhkd->bhqk' (attention scores), 'i,i->' (dot), 'ij->ji'
 * (transpose), '...ij,...j->...i' (batched matrix-vector).
 */
export function einsum(spec: string, ...xs: Tensor[]): Tensor {
  const { inputs, output } = parse(spec, xs);
  return tidy(() => {
    const terms: Term[] = xs.map((t, k) => ({ t, labels: inputs[k]! }));
    let acc = terms[0]!;
    for (let k = 1; k < terms.length; k++) {
      const keep = new Set([...output, ...terms.slice(k + 1).flatMap((t) => t.labels)]);
      acc = contract(acc, terms[k]!, keep);
    }
    acc = reduceUnused(acc, [], new Set(output));
    return arrange(acc, output);
  });
}
