/// <reference types="@webgpu/types" />
/**
 * Per-kernel GPU time, from timestamp queries (the adapter's
 * `timestamp-query` feature). While a profile runs, the stream gives every
 * dispatch its own compute pass with a begin and an end timestamp; at each
 * submit the batch's timestamps are resolved into a buffer and read back
 * asynchronously, and durations are summed by pipeline label (the kernel's
 * cache key). Splitting passes adds a little overhead per dispatch, so a
 * profile says where GPU time goes, not how long an unprofiled step takes.
 *
 * Dawn quantises timestamps unless its `timestamp_quantization` toggle is
 * off (NABLA_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" in Node).
 */

const MAP_READ = 0x01;
const COPY_DST = 0x08;
const COPY_SRC = 0x04;
const QUERY_RESOLVE = 0x200;

export interface KernelTime {
  /** the kernel's pipeline label (its cache key: op, dtype and shape constants) */
  label: string;
  /** total GPU milliseconds over the profile */
  ms: number;
  /** dispatches */
  count: number;
}

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private labels: string[] = [];
  private readonly totals = new Map<string, { ms: number; count: number }>();
  private readonly pending: Promise<void>[] = [];

  /** `capacity`: the most dispatches one batch may hold (two queries each). */
  constructor(
    private readonly device: GPUDevice,
    private readonly capacity: number,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolveBuf = device.createBuffer({ size: 16 * capacity, usage: QUERY_RESOLVE | COPY_SRC });
  }

  /** A compute pass holding one dispatch of `label`, with its two timestamps. */
  beginPass(encoder: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    const i = this.labels.length;
    if (i >= this.capacity) throw new Error(`webgpu profile: more than ${this.capacity} dispatches in one batch`);
    this.labels.push(label);
    return encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
  }

  /** Before the batch's encoder is finished: resolve its timestamps into a staging buffer; returns the read-back to start after submit. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const labels = this.labels;
    if (labels.length === 0) return null;
    this.labels = [];
    const bytes = 16 * labels.length;
    const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * labels.length, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, staging, 0, bytes);
    return () => {
      this.pending.push(
        staging.mapAsync(MAP_READ).then(() => {
          const t = new BigUint64Array(staging.getMappedRange().slice(0));
          staging.destroy();
          labels.forEach((label, i) => {
            const ns = t[2 * i + 1]! > t[2 * i]! ? Number(t[2 * i + 1]! - t[2 * i]!) : 0;
            const e = this.totals.get(label) ?? { ms: 0, count: 0 };
            e.ms += ns / 1e6;
            e.count++;
            this.totals.set(label, e);
          });
        }),
      );
    };
  }

  /** Wait for every batch's timestamps; the kernels by total time, longest first. */
  async report(): Promise<KernelTime[]> {
    await Promise.all(this.pending);
    this.querySet.destroy();
    this.resolveBuf.destroy();
    return [...this.totals].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
  }
}
