/**
 * Sparse float64 matrices for co-occurrence statistics: a COO accumulator that
 * sums duplicate entries in bounded memory, compressed sparse rows (CSR), and
 * the two products a randomised SVD needs (A·X and Aᵀ·Y with X, Y dense and
 * thin), each O(nnz·k) and never forming a dense copy of A.
 */

/** Compressed sparse row matrix: row i holds indices/data[indptr[i] .. indptr[i+1]), columns ascending. */
export interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float64Array;
}

function checkShape(fn: string, rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error(`${fn}: rows must be a non-negative integer, got ${rows}`);
  if (!Number.isSafeInteger(cols) || cols < 0) throw new Error(`${fn}: cols must be a non-negative integer, got ${cols}`);
  if (rows * cols > Number.MAX_SAFE_INTEGER) throw new Error(`${fn}: ${rows}x${cols} has too many cells to index`);
}

const EMPTY = -1;

/**
 * Sums (row, col, value) triples. Entries are summed in an open-addressing
 * hash table held in two typed arrays (cell key row·cols + col, and value;
 * linear probing, load ≤ 1/2), far cheaper per entry than a JS Map with
 * number keys. When the table holds `flushEvery` cells (and at least half as
 * many as merged so far) it is sorted into a compact run (16 bytes per cell)
 * and merged into the run so far, so the hash table's larger per-cell cost
 * applies to a bounded share of the cells and each merge is amortised.
 */
export class CooAccumulator {
  readonly rows: number;
  readonly cols: number;
  private readonly flushEvery: number;
  private slotKeys: Float64Array;
  private slotValues: Float64Array;
  private mask: number;
  private used = 0;
  private keys = new Float64Array(0);
  private values = new Float64Array(0);

  constructor(rows: number, cols: number, options: { flushEvery?: number } = {}) {
    checkShape('CooAccumulator', rows, cols);
    const flushEvery = options.flushEvery ?? 1 << 20;
    if (!Number.isSafeInteger(flushEvery) || flushEvery < 1) {
      throw new Error(`CooAccumulator: flushEvery must be a positive integer, got ${flushEvery}`);
    }
    this.rows = rows;
    this.cols = cols;
    this.flushEvery = flushEvery;
    const capacity = 1 << 10;
    this.slotKeys = new Float64Array(capacity).fill(EMPTY);
    this.slotValues = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  /** Slot of `key`: where it is, or the empty slot where it would go. */
  private slot(key: number): number {
    // Mix the low and high 32 bits (keys are integers below 2^53), then probe linearly.
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 15;
    let i = h & this.mask;
    const keys = this.slotKeys;
    while (keys[i] !== key && keys[i] !== EMPTY) i = (i + 1) & this.mask;
    return i;
  }

  /** Adds `value` to cell (row, col). Indices are trusted (hot path); callers validate. */
  add(row: number, col: number, value: number): void {
    const key = row * this.cols + col;
    const i = this.slot(key);
    if (this.slotKeys[i] === key) {
      this.slotValues[i] += value;
      return;
    }
    this.slotKeys[i] = key;
    this.slotValues[i] = value;
    this.used++;
    // The threshold grows with the merged run so that merging stays amortised O(1) per cell.
    if (this.used >= this.flushEvery && 2 * this.used >= this.keys.length) this.flush();
    else if (2 * this.used > this.slotKeys.length) this.grow();
  }

  /** Doubles the table and re-inserts every cell. */
  private grow(): void {
    const oldKeys = this.slotKeys;
    const oldValues = this.slotValues;
    this.slotKeys = new Float64Array(oldKeys.length * 2).fill(EMPTY);
    this.slotValues = new Float64Array(oldKeys.length * 2);
    this.mask = this.slotKeys.length - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      if (oldKeys[j] === EMPTY) continue;
      const i = this.slot(oldKeys[j]);
      this.slotKeys[i] = oldKeys[j];
      this.slotValues[i] = oldValues[j];
    }
  }

  /** Number of distinct cells so far (after merging). */
  get nnz(): number {
    this.flush();
    return this.keys.length;
  }

  /** Sorts the table's cells into a run, merges it with the accumulated one and empties the table. */
  private flush(): void {
    if (this.used === 0) return;
    const newKeys = new Float64Array(this.used);
    let n0 = 0;
    const slotKeys = this.slotKeys;
    for (let j = 0; j < slotKeys.length; j++) if (slotKeys[j] !== EMPTY) newKeys[n0++] = slotKeys[j];
    newKeys.sort();
    const newValues = new Float64Array(newKeys.length);
    for (let i = 0; i < newKeys.length; i++) newValues[i] = this.slotValues[this.slot(newKeys[i])];
    slotKeys.fill(EMPTY);
    this.used = 0;
    const a = this.keys;
    const av = this.values;
    const mergedKeys = new Float64Array(a.length + newKeys.length);
    const mergedValues = new Float64Array(mergedKeys.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < a.length || j < newKeys.length) {
      if (j >= newKeys.length || (i < a.length && a[i] < newKeys[j])) {
        mergedKeys[n] = a[i];
        mergedValues[n++] = av[i++];
      } else if (i >= a.length || newKeys[j] < a[i]) {
        mergedKeys[n] = newKeys[j];
        mergedValues[n++] = newValues[j++];
      } else {
        mergedKeys[n] = a[i];
        mergedValues[n++] = av[i++] + newValues[j++];
      }
    }
    this.keys = mergedKeys.slice(0, n);
    this.values = mergedValues.slice(0, n);
  }

  /** The summed matrix in CSR form. */
  toCsr(): Csr {
    this.flush();
    const { rows, cols, keys, values } = this;
    if (keys.length >= 2 ** 31) throw new Error(`CooAccumulator: ${keys.length} non-zeros exceed the CSR index range`);
    const indptr = new Int32Array(rows + 1);
    const indices = new Int32Array(keys.length);
    for (let p = 0; p < keys.length; p++) {
      const row = Math.floor(keys[p] / cols);
      indices[p] = keys[p] - row * cols;
      indptr[row + 1]++;
    }
    for (let r = 0; r < rows; r++) indptr[r + 1] += indptr[r];
    return { rows, cols, indptr, indices, data: Float64Array.from(values) };
  }
}

/** CSR from a dense row-major matrix (exact zeros are left out). */
export function csrFromDense(a: ArrayLike<number>, rows: number, cols: number): Csr {
  checkShape('csrFromDense', rows, cols);
  if (a.length !== rows * cols) throw new Error(`csrFromDense: a must have ${rows}x${cols} = ${rows * cols} entries, got ${a.length}`);
  const acc = new CooAccumulator(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (a[i * cols + j] !== 0) acc.add(i, j, a[i * cols + j]);
  return acc.toCsr();
}

/** Dense row-major copy. Only for small matrices (tests, diagnostics). */
export function csrToDense(a: Csr): Float64Array {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) out[i * a.cols + a.indices[p]] = a.data[p];
  }
  return out;
}

/** Value at (row, col), 0 when absent (binary search in the row). */
export function csrGet(a: Csr, row: number, col: number): number {
  let lo = a.indptr[row];
  let hi = a.indptr[row + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = a.indices[mid];
    if (c === col) return a.data[mid];
    if (c < col) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** Σ over each row. */
export function csrRowSums(a: Csr): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) s += a.data[p];
    out[i] = s;
  }
  return out;
}

/** Σ over each column. */
export function csrColSums(a: Csr): Float64Array {
  const out = new Float64Array(a.cols);
  for (let p = 0; p < a.indices.length; p++) out[a.indices[p]] += a.data[p];
  return out;
}

function checkDense(fn: string, name: string, x: Float64Array, rows: number, k: number): void {
  if (!(x instanceof Float64Array)) throw new Error(`${fn}: ${name} must be a Float64Array`);
  if (!Number.isSafeInteger(k) || k < 0) throw new Error(`${fn}: k must be a non-negative integer, got ${k}`);
  if (x.length !== rows * k) throw new Error(`${fn}: ${name} must be ${rows}x${k} (length ${rows * k}), got length ${x.length}`);
}

/** A·X for A (m×n, CSR) and X (n×k, dense row-major): an m×k dense result. */
export function csrMatmulDense(a: Csr, x: Float64Array, k: number): Float64Array {
  checkDense('csrMatmulDense', 'x', x, a.cols, k);
  const out = new Float64Array(a.rows * k);
  const { indptr, indices, data } = a;
  for (let i = 0; i < a.rows; i++) {
    const o = i * k;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const v = data[p];
      const xr = indices[p] * k;
      for (let c = 0; c < k; c++) out[o + c] += v * x[xr + c];
    }
  }
  return out;
}

/** Aᵀ·Y for A (m×n, CSR) and Y (m×k, dense): an n×k dense result, by scattering rows (no transpose is formed). */
export function csrTransposeMatmulDense(a: Csr, y: Float64Array, k: number): Float64Array {
  checkDense('csrTransposeMatmulDense', 'y', y, a.rows, k);
  const out = new Float64Array(a.cols * k);
  const { indptr, indices, data } = a;
  for (let i = 0; i < a.rows; i++) {
    const yr = i * k;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const v = data[p];
      const o = indices[p] * k;
      for (let c = 0; c < k; c++) out[o + c] += v * y[yr + c];
    }
  }
  return out;
}

/** The same sparsity pattern with each stored value mapped through `f(value, row, col)`; zeros produced are dropped. */
export function csrMap(a: Csr, f: (value: number, row: number, col: number) => number): Csr {
  const indptr = new Int32Array(a.rows + 1);
  const indices = new Int32Array(a.indices.length);
  const data = new Float64Array(a.data.length);
  let n = 0;
  for (let i = 0; i < a.rows; i++) {
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) {
      const v = f(a.data[p], i, a.indices[p]);
      if (v !== 0) {
        indices[n] = a.indices[p];
        data[n++] = v;
      }
    }
    indptr[i + 1] = n;
  }
  return { rows: a.rows, cols: a.cols, indptr, indices: indices.slice(0, n), data: data.slice(0, n) };
}

/** A + Aᵀ for a square CSR matrix (e.g. to symmetrise counts accumulated one way). */
export function csrAddTranspose(a: Csr): Csr {
  if (a.rows !== a.cols) throw new Error(`csrAddTranspose: a must be square, got ${a.rows}x${a.cols}`);
  const n = a.rows;
  // Aᵀ by counting sort on the column index: rows of Aᵀ come out with ascending columns.
  const tPtr = new Int32Array(n + 1);
  for (let p = 0; p < a.indices.length; p++) tPtr[a.indices[p] + 1]++;
  for (let i = 0; i < n; i++) tPtr[i + 1] += tPtr[i];
  const fill = tPtr.slice(0, n);
  const tIdx = new Int32Array(a.indices.length);
  const tVal = new Float64Array(a.indices.length);
  for (let i = 0; i < n; i++) {
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) {
      const q = fill[a.indices[p]]++;
      tIdx[q] = i;
      tVal[q] = a.data[p];
    }
  }
  // Merge row i of A with row i of Aᵀ.
  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(2 * a.indices.length);
  const data = new Float64Array(2 * a.indices.length);
  let m = 0;
  for (let i = 0; i < n; i++) {
    let p = a.indptr[i];
    let q = tPtr[i];
    const pEnd = a.indptr[i + 1];
    const qEnd = tPtr[i + 1];
    while (p < pEnd || q < qEnd) {
      if (q >= qEnd || (p < pEnd && a.indices[p] < tIdx[q])) {
        indices[m] = a.indices[p];
        data[m++] = a.data[p++];
      } else if (p >= pEnd || tIdx[q] < a.indices[p]) {
        indices[m] = tIdx[q];
        data[m++] = tVal[q++];
      } else {
        indices[m] = a.indices[p];
        data[m++] = a.data[p++] + tVal[q++];
      }
    }
    indptr[i + 1] = m;
  }
  return { rows: n, cols: n, indptr, indices: indices.slice(0, m), data: data.slice(0, m) };
}
