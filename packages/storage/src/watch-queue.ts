import type { WatchEvent } from "@raftstore/proto";
import type { CallOptions, Watch } from "./backend.js";
import { WatchClosedError } from "./errors.js";

/** Options of a WatchQueue. */
export interface WatchQueueOptions {
  /**
   * The most events that may wait for the consumer. One more ends the watch with
   * WatchClosedError, so that a stalled consumer costs bounded memory and re-lists instead.
   * Default: unbounded.
   */
  maxPending?: number;
  /** Called once when the watch ends, whoever ends it: release the subscription here. */
  onClose?: () => void;
}

interface Waiter {
  resolve(event: WatchEvent): void;
  reject(error: unknown): void;
}

/**
 * A Watch fed by a backend: the backend `push`es events in commit order and `end`s the watch
 * when it cannot continue it; the consumer takes them with `next()` or `for await`.
 *
 * Pushing never blocks and never waits for the consumer. An aborted `next()` loses no event:
 * the event stays queued for the following call.
 */
export class WatchQueue implements Watch {
  readonly #pending: WatchEvent[] = [];
  // The head of #pending, so that shift() is O(1) amortised on long queues.
  #head = 0;
  #waiter: Waiter | undefined;
  #ended: Error | undefined;
  #endedByConsumer = false;
  readonly #maxPending: number;
  readonly #onClose: (() => void) | undefined;

  constructor(options: WatchQueueOptions = {}) {
    this.#maxPending = options.maxPending ?? Number.POSITIVE_INFINITY;
    this.#onClose = options.onClose;
  }

  /** Whether the watch has ended (closed by the consumer or ended by the backend). */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** How many events wait for the consumer. */
  get pending(): number {
    return this.#pending.length - this.#head;
  }

  /** Delivers an event to the consumer. Ignored once the watch has ended. */
  push(event: WatchEvent): void {
    if (this.#ended !== undefined) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(event);
      return;
    }
    if (this.pending >= this.#maxPending) {
      this.end(
        new WatchClosedError(
          `watch closed: the consumer fell more than ${this.#maxPending} events behind; re-list and watch again`,
        ),
      );
      return;
    }
    this.#pending.push(event);
  }

  /**
   * Ends the watch: queued events are dropped and every `next()` rejects with `error`. Used by
   * the backend (restore, shutdown). Idempotent: the first error wins.
   */
  end(error: Error = new WatchClosedError()): void {
    if (this.#ended !== undefined) return;
    this.#ended = error;
    this.#pending.length = 0;
    this.#head = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
    this.#onClose?.();
  }

  next(options?: CallOptions): Promise<WatchEvent> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    if (this.#head < this.#pending.length) {
      const event = this.#pending[this.#head] as WatchEvent;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
        this.#pending.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve(event);
    }
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error("Watch.next() called while another next() is pending"));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<WatchEvent>((resolve, reject) => {
      const onAbort = () => {
        if (this.#waiter === waiter) this.#waiter = undefined;
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (event) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(event);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      this.#waiter = waiter;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  close(): void {
    if (this.#ended !== undefined) return;
    this.#endedByConsumer = true;
    this.end(new WatchClosedError("watch closed by its consumer"));
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
          // A watch its consumer closed simply ends the loop; one the backend ended throws.
          if (this.#endedByConsumer && error === this.#ended)
            return { value: undefined, done: true };
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
