import type { Entry } from "../log-types.js";
import type { LogContents, LogStore } from "../stores.js";

/**
 * A LogStore in memory, for tests and for nodes that need no durability. Every call takes
 * effect when it is made and resolves at once; nothing survives the process.
 */
export class MemoryLogStore implements LogStore {
  private compactedIndex = 0;
  private entries: Entry[] = [];
  private closed = false;

  async load(): Promise<LogContents> {
    this.check();
    return { compactedIndex: this.compactedIndex, entries: this.entries.slice() };
  }

  async append(entries: readonly Entry[]): Promise<void> {
    this.check();
    const expected = this.compactedIndex + this.entries.length + 1;
    const first = entries[0];
    if (first !== undefined && first.index !== expected) {
      throw new Error(`expected an append starting at index ${expected}, found ${first.index}`);
    }
    for (const entry of entries) this.entries.push(entry);
  }

  async truncateAfter(index: number): Promise<void> {
    this.check();
    if (index < this.compactedIndex) {
      throw new Error(
        `cannot truncate after ${index}: the log is compacted through ${this.compactedIndex}`,
      );
    }
    this.entries.length = Math.min(this.entries.length, index - this.compactedIndex);
  }

  async compact(index: number): Promise<void> {
    this.check();
    const drop = Math.min(this.entries.length, index - this.compactedIndex);
    if (drop <= 0) return;
    this.entries = this.entries.slice(drop);
    this.compactedIndex += drop;
  }

  async reset(index: number): Promise<void> {
    this.check();
    this.entries = [];
    this.compactedIndex = index;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Reopens after close (a restart of the node on the same store). */
  reopen(): void {
    this.closed = false;
  }

  private check(): void {
    if (this.closed) throw new Error("the log store is closed");
  }
}
