/**
 * Argument checks shared by the float64 linear-algebra kernels.
 *
 * Every check throws a plain `Error` whose message starts with the name of the
 * public function that was called, names the offending argument and reports
 * the sizes or values at fault, so a failure deep inside a batched caller
 * still says exactly what went wrong. Internal module: not re-exported from
 * `index.ts`.
 */

/** Throws unless `value` is a non-negative safe integer (a valid dimension). */
export function checkDim(fn: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${fn}: ${name} must be a non-negative integer, got ${String(value)}`);
  }
}

/** Throws unless `arr` is a `Float64Array`. */
export function checkFloat64(fn: string, name: string, arr: unknown): asserts arr is Float64Array {
  if (!(arr instanceof Float64Array)) {
    const got = arr === null ? 'null' : typeof arr === 'object' ? (arr as object).constructor?.name : typeof arr;
    throw new Error(`${fn}: ${name} must be a Float64Array, got ${got}`);
  }
}

/** Throws unless `arr` is a `Float64Array` holding exactly a `rows`×`cols` matrix. */
export function checkMatrix(fn: string, name: string, arr: unknown, rows: number, cols: number): asserts arr is Float64Array {
  checkFloat64(fn, name, arr);
  if (arr.length !== rows * cols) {
    throw new Error(
      `${fn}: ${name} must be ${rows}x${cols} (length ${rows * cols}) but has length ${arr.length}`,
    );
  }
}

/**
 * Checks a right-hand side `b` that must be `n`×`m` to match an `n`×`n`
 * coefficient matrix called `aName`, e.g. "solve: a is 3x3 but b has 4 rows".
 */
export function checkRhs(fn: string, aName: string, n: number, b: unknown, m: number): asserts b is Float64Array {
  checkFloat64(fn, 'b', b);
  if (b.length === n * m) return;
  if (m > 0 && b.length % m === 0) {
    throw new Error(
      `${fn}: ${aName} is ${n}x${n} but b has ${b.length / m} rows (length ${b.length} with m = ${m} columns)`,
    );
  }
  throw new Error(`${fn}: b must be ${n}x${m} (length ${n * m}) to match ${aName} (${n}x${n}) but has length ${b.length}`);
}

/** Throws if `arr` holds a NaN or an infinity (iterative methods would never converge on them). */
export function checkFinite(fn: string, name: string, arr: Float64Array): void {
  for (let i = 0; i < arr.length; i++) {
    if (!Number.isFinite(arr[i])) {
      throw new Error(`${fn}: ${name} contains a non-finite value (${arr[i]} at index ${i})`);
    }
  }
}
