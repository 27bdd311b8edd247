/**
 * Corpora for word vectors: tokenising text into sentences and counting words,
 * streaming so that memory stays bounded however large the file is.
 *
 * A corpus is anything that can be read more than once (`sentences()` starts
 * a fresh pass each time): SGNS makes one pass per epoch, exactly like
 * word2vec re-reading its training file (Mikolov et al. 2013, arXiv
 * 1301.3781). A file corpus holds one chunk of bytes and one partial line at a
 * time; nothing proportional to the file size is kept.
 *
 * Sentences are lines: windows never cross a newline. Tokens are maximal runs
 * of Unicode letters and digits, with inner apostrophes kept ("don't"),
 * lower-cased by default. A line longer than `maxSentenceLength` tokens is
 * cut into pieces of that length (word2vec cuts at 1000 words).
 */
import { nodeFs } from '../../io/node.js';

/** Options shared by {@link textCorpus} and {@link fileCorpus}. */
export interface CorpusOptions {
  /** Lower-case every token (default true). */
  lowercase?: boolean;
  /** Longest sentence handed out; longer lines are cut into pieces (default 10000). */
  maxSentenceLength?: number;
}

/** Options of {@link fileCorpus}. */
export interface FileCorpusOptions extends CorpusOptions {
  /** Bytes read per system call (default 1 MiB). Small values only matter for tests. */
  chunkBytes?: number;
  /**
   * A line with no newline for this many characters is cut at its last
   * whitespace (default 4 Mi characters), so a file without newlines still
   * streams in bounded memory.
   */
  maxLineChars?: number;
}

/** A re-readable source of tokenised sentences. */
export interface Corpus {
  /** Starts a fresh pass over the text. */
  sentences(): Iterable<string[]>;
  /** Where the text comes from, for messages. */
  readonly description: string;
}

const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Splits one line into tokens (see the module comment for the rule). */
export function tokenize(line: string, lowercase = true): string[] {
  const text = lowercase ? line.toLowerCase() : line;
  return text.match(TOKEN) ?? [];
}

function checkCorpusOptions(fn: string, options: CorpusOptions): { lowercase: boolean; maxLen: number } {
  if (options === null || typeof options !== 'object') throw new Error(`${fn}: options must be an object`);
  const maxLen = options.maxSentenceLength ?? 10000;
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new Error(`${fn}: maxSentenceLength must be a positive integer, got ${String(maxLen)}`);
  }
  return { lowercase: options.lowercase ?? true, maxLen };
}

/** Yields the tokens of a line, in pieces of at most maxLen tokens; nothing for an empty line. */
function* lineSentences(line: string, lowercase: boolean, maxLen: number): Generator<string[]> {
  const tokens = tokenize(line, lowercase);
  if (tokens.length === 0) return;
  if (tokens.length <= maxLen) {
    yield tokens;
    return;
  }
  for (let i = 0; i < tokens.length; i += maxLen) yield tokens.slice(i, i + maxLen);
}

/** A corpus held in memory as one string (lines are sentences). */
export function textCorpus(text: string, options: CorpusOptions = {}): Corpus {
  if (typeof text !== 'string') throw new Error(`textCorpus: text must be a string, got ${typeof text}`);
  const { lowercase, maxLen } = checkCorpusOptions('textCorpus', options);
  return {
    description: `text of ${text.length} characters`,
    *sentences() {
      let start = 0;
      while (start <= text.length) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = text.length;
        yield* lineSentences(text.slice(start, end), lowercase, maxLen);
        start = end + 1;
      }
    },
  };
}

/**
 * A corpus streamed from a UTF-8 text file, `chunkBytes` at a time (a
 * streaming TextDecoder keeps multi-byte characters split across chunks
 * intact). The file is opened anew for every pass.
 */
export function fileCorpus(path: string, options: FileCorpusOptions = {}): Corpus {
  if (typeof path !== 'string' || path.length === 0) throw new Error('fileCorpus: path must be a non-empty string');
  const { lowercase, maxLen } = checkCorpusOptions('fileCorpus', options);
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const maxLineChars = options.maxLineChars ?? 1 << 22;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new Error(`fileCorpus: chunkBytes must be a positive integer, got ${String(chunkBytes)}`);
  }
  if (!Number.isSafeInteger(maxLineChars) || maxLineChars < 1) {
    throw new Error(`fileCorpus: maxLineChars must be a positive integer, got ${String(maxLineChars)}`);
  }
  const { closeSync, openSync, readSync } = nodeFs('fileCorpus', 'in a browser use textCorpus on a string');
  // Open once now so that a missing file fails at construction, naming the path.
  try {
    closeSync(openSync(path, 'r'));
  } catch (err) {
    throw new Error(`fileCorpus: cannot open corpus file ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  return {
    description: `file ${path}`,
    *sentences() {
      const fd = openSync(path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(chunkBytes);
        const decoder = new TextDecoder('utf-8');
        let carry = '';
        for (;;) {
          const got = readSync(fd, buffer, 0, chunkBytes, null);
          const text = got > 0 ? carry + decoder.decode(buffer.subarray(0, got), { stream: true }) : carry + decoder.decode();
          let start = 0;
          for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
            yield* lineSentences(text.slice(start, nl), lowercase, maxLen);
            start = nl + 1;
          }
          carry = text.slice(start);
          if (got === 0) break;
          if (carry.length > maxLineChars) {
            // Cut an overlong line at its last whitespace so the cut never splits a token.
            let cut = carry.length - 1;
            while (cut > 0 && !/\s/u.test(carry[cut])) cut--;
            if (cut === 0) cut = carry.length;
            yield* lineSentences(carry.slice(0, cut), lowercase, maxLen);
            carry = carry.slice(cut);
          }
        }
        yield* lineSentences(carry, lowercase, maxLen);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Result of {@link countWords}. */
export interface WordCounts {
  /** Token → count. Exact unless `pruneThreshold` > 0. */
  counts: Map<string, number>;
  /** Number of tokens read (including any pruned ones). */
  totalTokens: number;
  /**
   * 0 when no pruning happened. Otherwise words seen at most this many times
   * before a prune were dropped, so counts of words that survived may miss
   * up to this many early occurrences (word2vec's ReduceVocab behaves alike).
   */
  pruneThreshold: number;
}

/**
 * Counts tokens in one streaming pass. When more than `maxDistinct` different
 * words are held, the rarest are dropped (first those seen once, then twice,
 * ...), as word2vec's `ReduceVocab` does, so memory stays bounded on
 * arbitrarily large corpora; words that matter (frequent ones) keep counts
 * that are exact or nearly so. Default `maxDistinct` 20,000,000.
 */
export function countWords(corpus: Corpus, options: { maxDistinct?: number } = {}): WordCounts {
  const maxDistinct = options.maxDistinct ?? 20_000_000;
  if (!Number.isSafeInteger(maxDistinct) || maxDistinct < 1) {
    throw new Error(`countWords: maxDistinct must be a positive integer, got ${String(maxDistinct)}`);
  }
  const counts = new Map<string, number>();
  let totalTokens = 0;
  let pruneThreshold = 0;
  for (const sentence of corpus.sentences()) {
    for (const word of sentence) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    totalTokens += sentence.length;
    while (counts.size > maxDistinct) {
      pruneThreshold++;
      for (const [word, c] of counts) if (c <= pruneThreshold) counts.delete(word);
    }
  }
  return { counts, totalTokens, pruneThreshold };
}
