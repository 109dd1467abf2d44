/**
 * The append messages a leader has sent to one follower and not yet seen acknowledged, by the
 * last index each carried and its size in bytes. It bounds optimistic pipelining: while it is
 * full (by count or by bytes) the leader sends that follower nothing new, so a slow follower
 * costs bounded memory however far behind it falls.
 */
export class Inflights {
  readonly maxMessages: number;
  readonly maxBytes: number;
  private indexes: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /** Messages in flight. */
  get count(): number {
    return this.indexes.length - this.head;
  }

  /** Bytes of entry data in flight. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Whether no more messages may be sent (count or bytes at their limit). */
  full(): boolean {
    return this.count >= this.maxMessages || this.totalBytes >= this.maxBytes;
  }

  /** Records a message whose last entry is `lastIndex`. Indexes must increase. */
  add(lastIndex: number, bytes: number): void {
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.totalBytes += bytes;
  }

  /** Forgets every message whose last index is at most `index` (acknowledged). */
  freeTo(index: number): void {
    while (this.head < this.indexes.length && (this.indexes[this.head] as number) <= index) {
      this.totalBytes -= this.sizes[this.head] as number;
      this.head++;
    }
    this.compactStorage();
  }

  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.head = 0;
    this.totalBytes = 0;
  }

  private compactStorage(): void {
    if (this.head === this.indexes.length) {
      this.reset();
    } else if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
