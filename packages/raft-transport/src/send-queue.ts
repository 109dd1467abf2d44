import type { MessageType } from "@raftstore/raft";

/** A message waiting for its stream, already serialized. */
export interface QueuedMessage {
  readonly type: MessageType;
  /** The serialized RaftMessage. Owned by the queue, then by the stream; never changed. */
  readonly bytes: Uint8Array;
  /** The bytes it takes in a request (`framedSize`): what the queue's byte bound counts. */
  readonly framed: number;
  /** A snapshot chunk that ends its snapshot. */
  readonly last: boolean;
}

/**
 * A FIFO of serialized messages bounded in messages and in bytes. When a message would exceed
 * either bound it is refused, and the caller drops it: a peer that is slow or gone costs at
 * most the bounds, never memory without limit. Order is preserved: the stream writes messages
 * in the order they were pushed.
 */
export class SendQueue {
  readonly maxMessages: number;
  readonly maxBytes: number;
  private items: QueuedMessage[] = [];
  /** Index of the first message still queued in `items` (the ones before it were taken). */
  private head = 0;
  private queuedBytes = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /** Messages queued. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Framed bytes queued. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Appends `message`, or returns false and changes nothing if a bound would be exceeded. */
  push(message: QueuedMessage): boolean {
    if (this.length + 1 > this.maxMessages || this.queuedBytes + message.framed > this.maxBytes) {
      return false;
    }
    this.items.push(message);
    this.queuedBytes += message.framed;
    return true;
  }

  /**
   * Removes and returns the oldest messages that fit together in `maxBatchBytes` framed bytes
   * (always at least one, if any is queued: no message is larger than a request may be) and
   * number at most `maxBatchMessages`.
   */
  take(maxBatchBytes: number, maxBatchMessages: number): QueuedMessage[] {
    const batch: QueuedMessage[] = [];
    let size = 0;
    while (this.head < this.items.length && batch.length < maxBatchMessages) {
      const next = this.items[this.head] as QueuedMessage;
      if (batch.length > 0 && size + next.framed > maxBatchBytes) break;
      batch.push(next);
      size += next.framed;
      this.head++;
    }
    this.queuedBytes -= size;
    this.compact();
    return batch;
  }

  /** Removes and returns every queued message. */
  clear(): QueuedMessage[] {
    const removed = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    return removed;
  }

  /** Drops taken slots once they are the larger part, so `take` stays O(batch) amortized. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
