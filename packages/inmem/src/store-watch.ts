import type { Resource, WatchEvent } from "@raftstore/proto";
import { type CallOptions, isWatchClosedError, type Watch, WatchQueue } from "@raftstore/storage";
import { endOfSnapshotEvent, upsertEvent } from "./events.js";

/** The snapshot records a watch has not delivered yet; cleared once it is delivered or ends. */
interface SnapshotCursor {
  records: Iterator<Resource> | undefined;
}

/**
 * A watch of the store: the initial snapshot as upserts, one end-of-snapshot event, then the
 * live events of every later matching change.
 *
 * The snapshot is not copied into the queue when the watch opens: the watch holds an MVCC view
 * (O(1) to take) and turns one record into one event each time the consumer asks. So opening a
 * watch over a million resources costs nothing up front, and the lag bound applies to live events
 * only — a snapshot larger than `maxWatchLag` does not end the watch by itself.
 *
 * Live events wait in a `WatchQueue` bounded by `maxWatchLag`: a consumer that lets more than that
 * many pile up (while it reads the snapshot, or later) is ended with WatchClosedError, so that a
 * stalled consumer costs bounded memory and re-lists instead of stalling writers.
 */
export class StoreWatch implements Watch {
  readonly #cursor: SnapshotCursor;
  readonly #queue: WatchQueue;
  #closedByConsumer = false;

  /** @private Built by `openStoreWatch`. */
  constructor(cursor: SnapshotCursor, queue: WatchQueue) {
    this.#cursor = cursor;
    this.#queue = queue;
  }

  /** Whether the watch has ended (closed by its consumer or ended by the store). */
  get ended(): boolean {
    return this.#queue.ended;
  }

  /** How many live events wait for the consumer (snapshot events are not counted). */
  get pending(): number {
    return this.#queue.pending;
  }

  next(options?: CallOptions): Promise<WatchEvent> {
    const records = this.#cursor.records;
    if (records === undefined || this.#queue.ended) return this.#queue.next(options);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const item = records.next();
    if (item.done !== true) return Promise.resolve(upsertEvent(item.value));
    this.#cursor.records = undefined;
    return Promise.resolve(endOfSnapshotEvent);
  }

  close(): void {
    if (this.#queue.ended) return;
    this.#closedByConsumer = true;
    this.#queue.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: async () => {
        try {
          return { value: await this.next(), done: false };
        } catch (error) {
          // A watch its consumer closed simply ends the loop; one the store ended throws.
          if (this.#closedByConsumer && isWatchClosedError(error)) {
            return { value: undefined, done: true };
          }
          throw error;
        }
      },
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * Opens a watch that first delivers `records` (the snapshot, read lazily from a view) and then
 * what the store pushes into the returned queue. `onEnd` runs once, when the watch ends for any
 * reason: that is where the store unregisters it.
 */
export function openStoreWatch(
  records: Iterator<Resource>,
  maxWatchLag: number,
  onEnd: () => void,
): { watch: StoreWatch; queue: WatchQueue } {
  const cursor: SnapshotCursor = { records };
  const queue = new WatchQueue({
    maxPending: maxWatchLag,
    onClose: () => {
      // Drop the snapshot view at once, so that the index nodes it pins can be collected.
      cursor.records = undefined;
      onEnd();
    },
  });
  return { watch: new StoreWatch(cursor, queue), queue };
}
