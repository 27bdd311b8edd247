/**
 * The word2vec text format: a header line "V d", then one line per word,
 * "word x1 x2 … xd", values separated by single spaces (word2vec.c's
 * `-binary 0` output, also read by gensim's `KeyedVectors.load_word2vec_format`).
 *
 * Each float32 is written with the fewest significant digits (at most 9) that
 * read back as exactly the same float32, so a save/load round trip is
 * bit-exact and files stay short.
 */
import { nodeFs } from '../../io/node.js';
import { WordVectors } from './query.js';

/** Shortest decimal string that parses back to the float32 `x` exactly. */
export function formatFloat32(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`formatFloat32: value must be finite, got ${x}`);
  if (x === 0) return '0';
  for (let p = 6; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return p === 6 ? stripZeros(s) : s;
  }
  return x.toPrecision(9);
}

/** "0.500000" → "0.5", "1.20000e-7" → "1.2e-7", "3.00000" → "3". */
function stripZeros(s: string): string {
  const e = s.indexOf('e');
  let mant = e < 0 ? s : s.slice(0, e);
  const exp = e < 0 ? '' : s.slice(e);
  if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
  return mant + exp;
}

function checkWord(word: string, row: number): void {
  if (word.length === 0 || /\s/u.test(word)) {
    throw new Error(`word2vec text: word ${row} (${JSON.stringify(word)}) is empty or holds whitespace, which the format cannot store`);
  }
}

/** Lines of the file (with trailing newlines), generated lazily. */
function* lines(vectors: WordVectors): Generator<string> {
  const { words, dim, vectors: data } = vectors;
  yield `${words.length} ${dim}\n`;
  const parts = new Array<string>(dim + 1);
  for (let i = 0; i < words.length; i++) {
    checkWord(words[i], i);
    parts[0] = words[i];
    for (let t = 0; t < dim; t++) {
      const x = data[i * dim + t];
      if (!Number.isFinite(x)) throw new Error(`word2vec text: vector of ${JSON.stringify(words[i])} holds a non-finite value (${x})`);
      parts[t + 1] = formatFloat32(x);
    }
    yield parts.join(' ') + '\n';
  }
}

/** The vectors as a word2vec text string. */
export function toWord2vecText(vectors: WordVectors): string {
  return Array.from(lines(vectors)).join('');
}

/**
 * Writes the vectors to `path` in word2vec text format, line by line into a
 * temporary file that is renamed over `path` at the end: a failure never
 * leaves a partly written file.
 */
export function saveWord2vecText(path: string, vectors: WordVectors): void {
  const { closeSync, openSync, renameSync, rmSync, writeSync } = nodeFs('saveWord2vecText', 'in a browser use toWord2vecText');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    let batch = '';
    for (const line of lines(vectors)) {
      batch += line;
      if (batch.length > 1 << 20) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, path);
}

/** Parses word2vec text (a header "V d", then V lines of a word and d numbers). */
export function parseWord2vecText(text: string): WordVectors {
  const rows = text.split('\n');
  const header = rows[0].trim().split(/\s+/);
  const v = Number(header[0]);
  const dim = Number(header[1]);
  if (header.length !== 2 || !Number.isSafeInteger(v) || v < 0 || !Number.isSafeInteger(dim) || dim < 1) {
    throw new Error(`word2vec text: line 1 must be "<words> <dim>" with a positive dim, got ${JSON.stringify(rows[0].slice(0, 80))}`);
  }
  const words: string[] = [];
  const data = new Float32Array(v * dim);
  let line = 1;
  for (; line < rows.length && words.length < v; line++) {
    const row = rows[line].trim();
    if (row.length === 0) continue;
    const fields = row.split(/[ \t]+/);
    if (fields.length !== dim + 1) {
      throw new Error(`word2vec text: line ${line + 1} has ${fields.length - 1} numbers, expected dim = ${dim}`);
    }
    const base = words.length * dim;
    for (let t = 0; t < dim; t++) {
      const x = Number(fields[t + 1]);
      if (!Number.isFinite(x) || fields[t + 1] === '') {
        throw new Error(`word2vec text: line ${line + 1}: ${JSON.stringify(fields[t + 1])} is not a finite number`);
      }
      data[base + t] = x;
    }
    words.push(fields[0]);
  }
  if (words.length !== v) throw new Error(`word2vec text: header announces ${v} words but the file holds ${words.length}`);
  for (; line < rows.length; line++) {
    if (rows[line].trim().length > 0) throw new Error(`word2vec text: line ${line + 1} follows the ${v} announced words`);
  }
  return new WordVectors(words, data, dim);
}

/** Reads a word2vec text file. */
export function loadWord2vecText(path: string): WordVectors {
  let text: string;
  try {
    text = nodeFs('loadWord2vecText', 'in a browser use parseWord2vecText').readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`loadWord2vecText: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  return parseWord2vecText(text);
}
