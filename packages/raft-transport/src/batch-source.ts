import type { QueuedMessage, SendQueue } from "./send-queue.js";

/** One request of a stream: serialized messages, in queue order. */
export interface Batch {
  readonly messages: Uint8Array[];
  /** The request's size: the sum of the messages' framed sizes. */
  readonly size: number;
}

/** How a source cuts the queue into requests. */
export interface BatchLimits {
  /** Framed bytes per request (the receiver's read limit). */
  readonly maxBytes: number;
  /** Messages per request: 1 for snapshot chunks, unbounded for the message stream. */
  readonly maxMessages: number;
  /** End the stream once a chunk with `last` is written and nothing else is queued. */
  readonly endAfterLast: boolean;
}

/**
 * The request side of one outgoing stream: an async iterator that connect pulls from whenever
 * it has written the previous request. Each pull takes everything queued (up to the limits) as
 * one request, so messages pipeline: they are written as fast as the connection takes them,
 * without waiting for any answer, and whatever queued up during a write goes out in one batch.
 *
 * A message leaves the queue only when a pull takes it, and a source never gives a message
 * twice, so each message is written at most once. Once ended (the stream failed or was closed)
 * a source takes nothing more: what is still queued stays for the owner to drop or send on the
 * next stream.
 */
export class BatchSource implements AsyncIterableIterator<Batch> {
  private readonly queue: SendQueue;
  private readonly limits: BatchLimits;
  private readonly onTaken: (batch: readonly QueuedMessage[]) => void;
  private waiting: ((result: IteratorResult<Batch>) => void) | undefined;
  private ended = false;
  private lastWritten = false;
  private completedRequests = false;

  constructor(
    queue: SendQueue,
    limits: BatchLimits,
    onTaken: (batch: readonly QueuedMessage[]) => void,
  ) {
    this.queue = queue;
    this.limits = limits;
    this.onTaken = onTaken;
  }

  /** The source ended the requests itself (after the last chunk), so the stream may end. */
  get completed(): boolean {
    return this.completedRequests;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Batch>> {
    const result = this.poll();
    if (result !== undefined) return Promise.resolve(result);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Something was queued: hand it to a pull that is waiting, if any. */
  wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    const result = this.poll();
    if (result === undefined) return;
    this.waiting = undefined;
    waiting(result);
  }

  /** Ends the stream's requests: a waiting pull and every later one see the end. */
  end(): void {
    this.ended = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }

  return(): Promise<IteratorResult<Batch>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(): Promise<IteratorResult<Batch>> {
    // Connect throws into the source when a write fails; the stream's own promise reports why.
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The next result if there is one now, undefined if the pull must wait. */
  private poll(): IteratorResult<Batch> | undefined {
    if (this.ended) return { done: true, value: undefined };
    if (this.queue.length === 0) {
      if (this.limits.endAfterLast && this.lastWritten) {
        this.ended = true;
        this.completedRequests = true;
        return { done: true, value: undefined };
      }
      return undefined;
    }
    const taken = this.queue.take(this.limits.maxBytes, this.limits.maxMessages);
    this.lastWritten = taken[taken.length - 1]?.last === true;
    this.onTaken(taken);
    const messages: Uint8Array[] = new Array(taken.length);
    let size = 0;
    for (let i = 0; i < taken.length; i++) {
      const m = taken[i] as QueuedMessage;
      messages[i] = m.bytes;
      size += m.framed;
    }
    return { done: false, value: { messages, size } };
  }
}
