/**
 * The records the quality runner writes, one JSON object per line (JSONL):
 * one per (task, mixer, width, training length, learning rate, test length).
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface QualityRecord {
  task: string;
  mixer: string;
  dModel: number;
  /** training sequence length */
  seqLen: number;
  /** evaluation length when it differs from seqLen (length extrapolation) */
  testLen?: number;
  lr: number;
  steps: number;
  batch: number;
  seed: number;
  /** held-out accuracy over scored positions (regression: 1 − MSE/baseline, at least 0) */
  accuracy: number;
  /** held-out loss (cross-entropy or MSE) */
  loss: number;
  /** mean training loss over the last 10% of steps */
  trainLoss: number;
  params: number;
  /** training seconds */
  seconds: number;
  /** task options (vocabulary, pairs, tokens) */
  taskOptions?: Record<string, number>;
}

/** Append records to a JSONL file (creating its folder). */
export function appendRecords(path: string, records: readonly QualityRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Read a JSONL file of records; a line that is not a record is an error naming its line number. */
export function readRecords(path: string): QualityRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: QualityRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`readRecords: ${path}:${i + 1} is not JSON`);
    }
    const q = r as QualityRecord;
    if (typeof q !== 'object' || q === null || typeof q.mixer !== 'string' || typeof q.accuracy !== 'number' || typeof q.dModel !== 'number') {
      throw new Error(`readRecords: ${path}:${i + 1} is not a quality record`);
    }
    out.push(q);
  });
  return out;
}
