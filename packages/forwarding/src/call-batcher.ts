import { Code, ConnectError } from "@connectrpc/connect";
import type { ID, Resource } from "@raftstore/proto";
import type { ResourceResult } from "@raftstore/proto/storage/v1";
import { InconsistentError, isInvalidArgumentError } from "@raftstore/storage";
import { connectErrorToStorageError } from "./connect-error-to-storage-error.js";
import { deepFreeze } from "./deep-freeze.js";
import { statusToConnectError } from "./forwarded-status.js";
import { maxBatchCalls } from "./routes.js";

// A follower forwards every write and every strong read to the leader. One RPC per call costs
// an HTTP/2 stream on each side, and on a busy follower that is most of what forwarding costs.
// So a follower keeps at most a few forwarded calls of a kind in flight; the calls that come
// while they are all busy queue up and leave together, in one batch (WriteBatch, ReadBatch), as
// soon as one of them is answered. A lone call never waits: with nothing else in flight it goes
// at once, as a plain Write or Read. This is the leader's group commit again, one hop earlier.

/** One call's part in an RPC: how long it may take, how it can be abandoned. */
export interface BatchedCallOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs: number;
}

/** What the batcher needs from the client: the two RPCs of a kind and their error mapping. */
export interface CallBatcherRpcs<Call> {
  /** A plain call; rejects with the storage error (or other error) the caller should see. */
  single(call: Call, options: BatchedCallOptions): Promise<Resource>;
  /**
   * A batch. Rejects (with the raw error, unmapped) only when the RPC as a whole failed; one
   * result per call otherwise, in order.
   */
  batch(calls: readonly Call[], timeoutMs: number): Promise<readonly ResourceResult[]>;
  /** What a failed batch RPC means for each of its calls. */
  batchFailure(error: unknown, calls: readonly Call[], timeoutMs: number): unknown;
}

export interface CallBatcherOptions<Call> {
  /** The batch method's name, for errors ("WriteBatch"). */
  readonly batchMethod: string;
  /** Forwarded RPCs of this kind (single or batch) in flight at once; at least 1. */
  readonly maxInFlight: number;
  /** The most (estimated) bytes of calls in one batch; a larger call goes alone. */
  readonly maxBatchBytes: number;
  /** A call's rough size on the wire. */
  readonly estimatedBytes: (call: Call) => number;
}

interface QueuedCall<Call> {
  readonly call: Call;
  readonly bytes: number;
  readonly signal: AbortSignal | undefined;
  /** When its caller stops waiting, on `performance.now()`'s clock. */
  readonly deadline: number;
  /** Whether it has been handed to a call (it is then no longer in the queue). */
  sent: boolean;
  /** Whether it must go in a call of its own (a batch holding it failed as a whole). */
  alone: boolean;
  settled: boolean;
  resolve(resource: Resource): void;
  reject(error: unknown): void;
}

/**
 * Sends a follower's forwarded calls of one kind (writes, or strong reads): alone when there is
 * room, in batches when there is not.
 */
export class CallBatcher<Call> {
  readonly #rpcs: CallBatcherRpcs<Call>;
  readonly #o: CallBatcherOptions<Call>;
  #queue: QueuedCall<Call>[] = [];
  #inFlight = 0;
  /** Set once a leader answered a batch with Unimplemented (an older version): no more batches. */
  #batchesUnsupported = false;

  constructor(rpcs: CallBatcherRpcs<Call>, options: CallBatcherOptions<Call>) {
    this.#rpcs = rpcs;
    this.#o = options;
  }

  send(call: Call, options: BatchedCallOptions): Promise<Resource> {
    options.signal?.throwIfAborted();
    if (this.#inFlight < this.#o.maxInFlight && this.#queue.length === 0) {
      return this.#sendAlone(call, options);
    }
    return new Promise<Resource>((resolve, reject) => {
      const { signal, timeoutMs } = options;
      const queued: QueuedCall<Call> = {
        call,
        bytes: this.#o.estimatedBytes(call),
        signal,
        deadline: performance.now() + timeoutMs,
        sent: false,
        alone: false,
        settled: false,
        resolve: (stored) => settle(() => resolve(stored)),
        reject: (error) => settle(() => reject(error)),
      };
      // Abandoned by its caller, or out of time: it fails at once, queued or sent (a sent call
      // may still take effect on the leader, as an abandoned single call may).
      const onAbort = () => queued.reject(signal?.reason);
      const timer = setTimeout(() => {
        queued.reject(
          new InconsistentError(`leader unreachable: no answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const settle = (finish: () => void) => {
        if (queued.settled) return;
        queued.settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (!queued.sent) this.#queue = this.#queue.filter((other) => other !== queued);
        finish();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(queued);
    });
  }

  async #sendAlone(call: Call, options: BatchedCallOptions): Promise<Resource> {
    this.#inFlight++;
    try {
      return await this.#rpcs.single(call, options);
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  /** Sends what queued up, while there is room in flight. */
  #pump(): void {
    while (this.#inFlight < this.#o.maxInFlight && this.#queue.length > 0) {
      const batch = this.#takeBatch();
      if (batch.length === 1) {
        const queued = batch[0] as QueuedCall<Call>;
        const timeoutMs = Math.max(1, Math.ceil(queued.deadline - performance.now()));
        this.#sendAlone(queued.call, { signal: queued.signal, timeoutMs }).then(
          queued.resolve,
          queued.reject,
        );
      } else {
        void this.#sendBatch(batch);
      }
    }
  }

  #takeBatch(): QueuedCall<Call>[] {
    const limit = this.#batchesUnsupported ? 1 : maxBatchCalls;
    let count = 0;
    let bytes = 0;
    for (const queued of this.#queue) {
      if (count > 0 && (queued.alone || bytes + queued.bytes > this.#o.maxBatchBytes)) break;
      if (count === limit) break;
      bytes += queued.bytes;
      count++;
    }
    if ((this.#queue[0] as QueuedCall<Call>).alone) count = 1;
    const batch = this.#queue.slice(0, count);
    this.#queue = this.#queue.slice(count);
    for (const queued of batch) queued.sent = true;
    return batch;
  }

  async #sendBatch(batch: QueuedCall<Call>[]): Promise<void> {
    this.#inFlight++;
    const calls = batch.map((queued) => queued.call);
    const now = performance.now();
    const timeoutMs = Math.max(
      1,
      Math.ceil(Math.max(...batch.map((queued) => queued.deadline - now))),
    );
    try {
      let results: readonly ResourceResult[];
      try {
        results = await this.#rpcs.batch(calls, timeoutMs);
      } catch (error) {
        this.#batchFailed(batch, error, timeoutMs);
        return;
      }
      if (results.length !== batch.length) {
        const error = new ConnectError(
          `the leader answered a batch of ${batch.length} calls with ${results.length} results`,
          Code.Internal,
        );
        for (const queued of batch) queued.reject(error);
        return;
      }
      batch.forEach((queued, i) => {
        const { outcome } = results[i] as ResourceResult;
        if (outcome.case === "resource") {
          queued.resolve(deepFreeze(outcome.value));
        } else if (outcome.case === "error") {
          // The storage error a call of its own would have failed with.
          queued.reject(connectErrorToStorageError(statusToConnectError(outcome.value)));
        } else {
          queued.reject(
            new ConnectError(
              `the leader answered ${this.#o.batchMethod} without a resource or an error`,
              Code.Internal,
            ),
          );
        }
      });
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  /**
   * A batch whose RPC failed as a whole. If the leader ran none of its calls (it does not know
   * the batch RPC, or the batch could not be encoded), each call is sent again on its own, so
   * that each gets its own answer. Otherwise every call fails with what the failure means.
   */
  #batchFailed(batch: QueuedCall<Call>[], error: unknown, timeoutMs: number): void {
    const calls = batch.map((queued) => queued.call);
    const unimplemented = error instanceof ConnectError && error.code === Code.Unimplemented;
    if (unimplemented) this.#batchesUnsupported = true;
    const mapped = this.#rpcs.batchFailure(error, calls, timeoutMs);
    if (unimplemented || isInvalidArgumentError(mapped)) {
      const unsent = batch.filter((queued) => !queued.settled);
      for (const queued of unsent) {
        queued.sent = false;
        queued.alone = true;
      }
      this.#queue = [...unsent, ...this.#queue];
      return;
    }
    for (const queued of batch) queued.reject(mapped);
  }
}

/**
 * A rough size of a resource on the wire, to keep batches bounded without encoding them twice:
 * its data and the strings that can be large.
 */
export function estimatedResourceBytes(resource: Resource): number {
  let bytes = 256 + (resource.data?.value.byteLength ?? 0) + (resource.data?.typeUrl.length ?? 0);
  for (const [key, value] of Object.entries(resource.metadata)) bytes += key.length + value.length;
  return bytes + 512 * Object.keys(resource.status).length;
}

/** A rough size of an id on the wire, to keep a batch of reads bounded. */
export function estimatedIdBytes(id: ID): number {
  return 64 + id.name.length + id.uid.length;
}
