/**
 * Crash-safe file replacement: a reader of `path` sees either the previous
 * complete file or the new complete file, never a mix, even if the process is
 * killed or the machine loses power mid-save.
 *
 * The recipe (the one SQLite, git and LevelDB rely on):
 * 1. write everything to a temporary file in the *same directory* (rename is
 *    only atomic within one file system);
 * 2. fsync the temporary file, so its bytes are on disk before its name is;
 * 3. rename it over `path` (atomic on POSIX; on Windows Node uses
 *    MoveFileEx with replace, also atomic for files on one volume);
 * 4. fsync the directory, so the rename itself survives a power loss.
 * A crash before step 3 leaves a stray temporary file and `path` untouched.
 * Temporary names carry the writer's pid; later writes remove stray ones
 * whose process is gone.
 */
import { nodeFs, nodePath } from './node.js';

/** Large writes are issued in pieces: one write() call may not take more than ~2 GiB. */
const MAX_WRITE = 1 << 30;

function tempPrefix(base: string): string {
  return `.${base}.tmp-`;
}

/** Write all of `chunk` at the file's current position. */
function writeFully(fd: number, chunk: Uint8Array): void {
  const fs = nodeFs('atomicWriteFileSync');
  let off = 0;
  while (off < chunk.byteLength) {
    const len = Math.min(MAX_WRITE, chunk.byteLength - off);
    off += fs.writeSync(fd, chunk, off, len);
  }
}

function fsyncDir(dir: string): void {
  const fs = nodeFs('atomicWriteFileSync');
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    // Some platforms (Windows) and file systems cannot open or fsync a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES' && code !== 'ENOTSUP') throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists but is someone else's
  }
}

/** Remove temporary files left by writers of `path` that died mid-save; returns how many were removed. */
export function removeStaleTempFiles(path: string): number {
  const fs = nodeFs('removeStaleTempFiles');
  const P = nodePath('removeStaleTempFiles');
  const dir = P.dirname(path);
  const prefix = tempPrefix(P.basename(path));
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    try {
      fs.unlinkSync(P.join(dir, n));
      removed++;
    } catch {
      // already gone, or not ours to remove
    }
  }
  return removed;
}

export interface AtomicWriteOptions {
  /** file mode of the new file (default 0o644, before the umask) */
  mode?: number;
  /** skip the fsyncs (faster, still atomic against process crashes but not power loss; default false) */
  noSync?: boolean;
}

/**
 * Atomically replace `path` with the concatenation of `data` (one buffer or an
 * iterable of chunks, consumed in order and not retained).
 */
export function atomicWriteFileSync(path: string, data: Uint8Array | Iterable<Uint8Array>, opts: AtomicWriteOptions = {}): void {
  if (typeof path !== 'string' || path.length === 0) throw new Error('atomicWriteFileSync: path must be a non-empty string');
  const fs = nodeFs('atomicWriteFileSync');
  const P = nodePath('atomicWriteFileSync');
  const abs = P.resolve(path);
  const dir = P.dirname(abs);
  const base = P.basename(abs);
  removeStaleTempFiles(abs);
  const rand = Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0');
  const tmp = P.join(dir, `${tempPrefix(base)}${process.pid}-${rand}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o644);
    const chunks: Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
    for (const c of chunks) writeFully(fd, c);
    if (!opts.noSync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // the write error is the one to report
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new Error(`atomicWriteFileSync: could not write ${abs}: ${(e as Error).message}`, { cause: e });
  }
  if (!opts.noSync) fsyncDir(dir);
}
