/**
 * The thread pool's control block: a few KiB on the CPU heap, read and
 * written with Atomics by the calling thread and by every worker. Jobs are
 * handed out through it, never through postMessage.
 *
 * Header (Int32 slots from the block's start):
 *   GEN       generation: bumped once per job; workers sleep on it (Atomics.wait)
 *   NEXT      the job's claim word, (count << 16) | next index; a thread claims
 *             task i by compare-and-swap from i to i + 1 while i < count
 *   DONE      tasks finished in the current job; the caller sleeps on it
 *   SHUTDOWN  1 tells workers to leave
 *   NMODULES  kernel modules published in MODULES (workers compile new ones lazily)
 *   READY     workers that have started (informative)
 *   ERROR     0, or 1 + the index of the first task that threw
 *   ERRLEN    bytes of UTF-8 text at ERRTEXT describing that error
 *   SCRATCH   per-thread scratch byte offsets (thread 0 is the caller)
 *   MODULES   (byte offset, length) of each module's WebAssembly bytes
 * Then the error text, then MAX_TASKS task slots of SLOT float64 each:
 * [function id, argument count, arguments...]. Float64 holds both the i32 and
 * f32 arguments of a kernel exactly.
 *
 * Why the claim word packs the count with the index: a compare-and-swap that
 * succeeds proves the word was current, and a current word names the current
 * job's next unclaimed task, so a worker that wakes late can never run a task
 * twice or one of a job that was not yet published (an ABA repeat of the same
 * word describes the same, still valid, claim).
 */
export const LAYOUT = {
  GEN: 0,
  NEXT: 1,
  DONE: 2,
  SHUTDOWN: 3,
  NMODULES: 4,
  READY: 5,
  ERROR: 6,
  ERRLEN: 7,
  SCRATCH: 16,
  MAX_THREADS: 64,
  MODULES: 80,
  MAX_MODULES: 64,
  /** Int32 slots in the header */
  HEADER_INTS: 256,
  /** byte offset and size of the error text */
  ERRTEXT: 1024,
  ERRBYTES: 1024,
  /** byte offset of the task slots */
  TASKS: 2048,
  /** float64 values per task slot: id, count, up to 30 arguments */
  SLOT: 32,
  MAX_TASKS: 256,
  /** busy-wait iterations before sleeping (about 20-50 µs): back-to-back kernels skip the futex */
  SPIN: 20000,
} as const;

export const CONTROL_BYTES = LAYOUT.TASKS + LAYOUT.MAX_TASKS * LAYOUT.SLOT * 8;
