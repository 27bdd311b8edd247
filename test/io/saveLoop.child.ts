/**
 * Child process for killDuringSave.test.ts: saves a large tensor to the same
 * path over and over, each generation filled with its number, announcing
 * "begin k" before and "saved k" after each save.
 * Usage: node --import tsx saveLoop.child.ts PATH NUMEL
 */
import { saveSafetensors } from '../../src/io/index.js';
import { zeros } from '../../src/ops/creation.js';
import { fillInPlace } from '../../src/optim/inplace.js';
import { writeSync } from 'node:fs';

const [path, numel] = process.argv.slice(2);
const w = zeros([Number(numel)]);
for (let k = 1; ; k++) {
  fillInPlace(w, k);
  writeSync(1, `begin ${k}\n`); // synchronous: the parent sees it before the save starts
  saveSafetensors(path!, { w }, { generation: String(k) });
  writeSync(1, `saved ${k}\n`);
}
