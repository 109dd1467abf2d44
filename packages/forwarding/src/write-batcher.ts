import { Code, ConnectError } from "@connectrpc/connect";
import type { Resource } from "@raftstore/proto";
import type { WriteResult } from "@raftstore/proto/storage/v1";
import { InconsistentError, isInvalidArgumentError } from "@raftstore/storage";
import { statusToConnectError } from "./forwarded-status.js";
import { maxBatchWrites } from "./routes.js";

// A follower forwards every write to the leader. One RPC per write costs an HTTP/2 stream on
// each side, and on a busy follower that is most of what forwarding costs. So a follower keeps
// at most a few forwarded writes in flight; the writes that come while they are all busy queue
// up and leave together, in one WriteBatch, as soon as one of them is answered. A lone write
// never waits: with nothing else in flight it goes at once, as a plain Write. This is the
// leader's group commit again, one hop earlier.

/** One write's part in a call: how it is sent, how long it may take, how it can be abandoned. */
export interface BatchedCallOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs: number;
}

/** What the batcher needs from the client: the two RPCs and their error mapping. */
export interface WriteBatcherRpcs {
  /** A plain Write; rejects with the storage error (or other error) the caller should see. */
  write(resource: Resource, options: BatchedCallOptions): Promise<Resource>;
  /**
   * A WriteBatch. Rejects (with the raw error, unmapped) only when the call as a whole failed;
   * one result per write otherwise, in order.
   */
  writeBatch(resources: readonly Resource[], timeoutMs: number): Promise<readonly WriteResult[]>;
  /** What a failed WriteBatch call means for each of its writes. */
  batchFailure(error: unknown, resources: readonly Resource[], timeoutMs: number): unknown;
  /** What a failed write in a batch's results means for its caller. */
  itemFailure(result: ConnectError): unknown;
  /** The resource a caller gets back (frozen). */
  stored(resource: Resource | undefined): Resource;
}

export interface WriteBatcherOptions {
  /** Forwarded write calls (Write or WriteBatch) in flight at once; at least 1. */
  readonly maxInFlight: number;
  /** The most (estimated) bytes of resources in one batch; a larger write goes alone. */
  readonly maxBatchBytes: number;
}

interface QueuedWrite {
  readonly resource: Resource;
  readonly bytes: number;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly deadline: number;
  /** Whether it has been handed to a call (it is then no longer in the queue). */
  sent: boolean;
  /** Whether it must go in a call of its own (a batch holding it failed as a whole). */
  alone: boolean;
  settled: boolean;
  resolve(resource: Resource): void;
  reject(error: unknown): void;
}

/** Sends a follower's forwarded writes: alone when there is room, in batches when there is not. */
export class WriteBatcher {
  readonly #rpcs: WriteBatcherRpcs;
  readonly #maxInFlight: number;
  readonly #maxBatchBytes: number;
  #queue: QueuedWrite[] = [];
  #inFlight = 0;
  /** Set once a leader answered WriteBatch with Unimplemented (an older version): no more batches. */
  #batchesUnsupported = false;

  constructor(rpcs: WriteBatcherRpcs, options: WriteBatcherOptions) {
    if (!(Number.isSafeInteger(options.maxInFlight) && options.maxInFlight >= 1)) {
      throw new RangeError(
        `maxWritesInFlight must be an integer of at least 1, got ${options.maxInFlight}`,
      );
    }
    this.#rpcs = rpcs;
    this.#maxInFlight = options.maxInFlight;
    this.#maxBatchBytes = options.maxBatchBytes;
  }

  /** Forwarded calls in flight, and writes waiting for one. */
  get stats(): { inFlight: number; queued: number } {
    return { inFlight: this.#inFlight, queued: this.#queue.length };
  }

  write(resource: Resource, options: BatchedCallOptions): Promise<Resource> {
    options.signal?.throwIfAborted();
    if (this.#inFlight < this.#maxInFlight && this.#queue.length === 0) {
      return this.#sendAlone(resource, options);
    }
    return new Promise<Resource>((resolve, reject) => {
      const { signal, timeoutMs } = options;
      const write: QueuedWrite = {
        resource,
        bytes: estimatedBytes(resource),
        signal,
        timeoutMs,
        deadline: performance.now() + timeoutMs,
        sent: false,
        alone: false,
        settled: false,
        resolve: (stored) => settle(() => resolve(stored)),
        reject: (error) => settle(() => reject(error)),
      };
      // Abandoned by its caller, or out of time: it fails at once, queued or sent (a sent write
      // may still take effect on the leader, as an abandoned single call may).
      const onAbort = () => write.reject(signal?.reason);
      const timer = setTimeout(() => {
        write.reject(new InconsistentError(`leader unreachable: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (finish: () => void) => {
        if (write.settled) return;
        write.settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (!write.sent) this.#queue = this.#queue.filter((queued) => queued !== write);
        finish();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(write);
    });
  }

  async #sendAlone(resource: Resource, options: BatchedCallOptions): Promise<Resource> {
    this.#inFlight++;
    try {
      return await this.#rpcs.write(resource, options);
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  /** Sends what queued up, while there is room in flight. */
  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#takeBatch();
      if (batch.length === 1) {
        const write = batch[0] as QueuedWrite;
        const timeoutMs = Math.max(1, Math.ceil(write.deadline - performance.now()));
        this.#sendAlone(write.resource, { signal: write.signal, timeoutMs }).then(
          write.resolve,
          write.reject,
        );
      } else {
        void this.#sendBatch(batch);
      }
    }
  }

  #takeBatch(): QueuedWrite[] {
    const limit = this.#batchesUnsupported ? 1 : maxBatchWrites;
    let count = 0;
    let bytes = 0;
    for (const write of this.#queue) {
      if (count > 0 && (write.alone || bytes + write.bytes > this.#maxBatchBytes)) break;
      if (count === limit) break;
      bytes += write.bytes;
      count++;
    }
    if ((this.#queue[0] as QueuedWrite).alone) count = 1;
    const batch = this.#queue.slice(0, count);
    this.#queue = this.#queue.slice(count);
    for (const write of batch) write.sent = true;
    return batch;
  }

  async #sendBatch(batch: QueuedWrite[]): Promise<void> {
    this.#inFlight++;
    const resources = batch.map((write) => write.resource);
    const now = performance.now();
    const timeoutMs = Math.max(
      1,
      Math.ceil(Math.max(...batch.map((write) => write.deadline - now))),
    );
    try {
      let results: readonly WriteResult[];
      try {
        results = await this.#rpcs.writeBatch(resources, timeoutMs);
      } catch (error) {
        this.#batchFailed(batch, error, timeoutMs);
        return;
      }
      if (results.length !== batch.length) {
        const error = new ConnectError(
          `the leader answered a batch of ${batch.length} writes with ${results.length} results`,
          Code.Internal,
        );
        for (const write of batch) write.reject(error);
        return;
      }
      batch.forEach((write, i) => {
        const { outcome } = results[i] as WriteResult;
        try {
          if (outcome.case === "error") {
            write.reject(this.#rpcs.itemFailure(statusToConnectError(outcome.value)));
          } else {
            write.resolve(this.#rpcs.stored(outcome.value));
          }
        } catch (error) {
          write.reject(error);
        }
      });
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  /**
   * A batch whose call failed as a whole. If the leader ran none of its writes (it does not know
   * WriteBatch, or the batch could not be encoded), each write is sent again on its own, so that
   * each gets its own answer. Otherwise every write fails with what the failure means.
   */
  #batchFailed(batch: QueuedWrite[], error: unknown, timeoutMs: number): void {
    const resources = batch.map((write) => write.resource);
    const unimplemented = error instanceof ConnectError && error.code === Code.Unimplemented;
    if (unimplemented) this.#batchesUnsupported = true;
    const mapped = this.#rpcs.batchFailure(error, resources, timeoutMs);
    if (unimplemented || isInvalidArgumentError(mapped)) {
      const unsent = batch.filter((write) => !write.settled);
      for (const write of unsent) {
        write.sent = false;
        write.alone = true;
      }
      this.#queue = [...unsent, ...this.#queue];
      return;
    }
    for (const write of batch) write.reject(mapped);
  }
}

/**
 * A rough size of a resource on the wire, to keep batches bounded without encoding them twice:
 * its data and the strings that can be large.
 */
function estimatedBytes(resource: Resource): number {
  let bytes = 256 + (resource.data?.value.byteLength ?? 0) + (resource.data?.typeUrl.length ?? 0);
  for (const [key, value] of Object.entries(resource.metadata)) bytes += key.length + value.length;
  return bytes + 512 * Object.keys(resource.status).length;
}
