import type { Entry, SnapshotMeta } from "../log-types.js";

/**
 * The core's view of the replicated log: the latest snapshot, the retained entries after the
 * compacted prefix, and four watermarks with
 *   firstIndex - 1 ≤ snapshot.index ≤ applied ≤ applying ≤ committed ≤ lastIndex
 *   persisted ≤ persisting ≤ lastIndex.
 *
 * Entries up to `persisted` are durable in the log store and match this log; entries after
 * `persisting` have not been handed to the runtime for persistence yet. Committed entries are
 * handed out for applying only once they are durable locally (≤ persisted), so a node never
 * applies what a crash could take back from its own disk.
 *
 * The term of an entry is known for the retained entries, for the snapshot's index and for
 * index 0; it is unknown for the compacted prefix.
 */
export class RaftLog {
  /** The latest snapshot: the log's compacted history up to `snapshot.index`. */
  snapshot: SnapshotMeta;
  /** A snapshot received from the leader that the runtime must persist and restore. */
  pendingSnapshot: SnapshotMeta | undefined;
  committed: number;
  applied: number;
  applying: number;
  persisted: number;
  persisting: number;
  private entries: Entry[];
  /** Index of entries[0]. */
  private offset: number;
  /** The data bytes of `entries`, kept as they change. */
  private retainedBytes: number;

  /**
   * A log as loaded from stable storage: `entries` (all durable) follow `compactedIndex`. The
   * caller guarantees compactedIndex ≤ snapshot.index ≤ last index.
   */
  constructor(snapshot: SnapshotMeta, compactedIndex: number, entries: readonly Entry[]) {
    this.snapshot = snapshot;
    this.entries = entries.slice();
    this.offset = compactedIndex + 1;
    this.retainedBytes = dataBytes(this.entries, 0);
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.applying = snapshot.index;
    this.persisted = this.lastIndex();
    this.persisting = this.persisted;
  }

  firstIndex(): number {
    return this.offset;
  }

  /** The bytes of data the retained entries hold (all of them are in memory). */
  bytes(): number {
    return this.retainedBytes;
  }

  lastIndex(): number {
    return this.offset + this.entries.length - 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of entry `index`, or undefined when it is compacted away or beyond the log. */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index >= this.offset && index < this.offset + this.entries.length) {
      return (this.entries[index - this.offset] as Entry).term;
    }
    return index === 0 ? 0 : undefined;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry | undefined {
    return index >= this.offset ? this.entries[index - this.offset] : undefined;
  }

  /**
   * Entries [lo, hi), stopping early once `maxBytes` of data are collected (but always at least
   * one entry). Undefined when `lo` is compacted away.
   */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] | undefined {
    if (lo < this.offset) return undefined;
    const end = Math.min(hi, this.lastIndex() + 1);
    if (lo >= end) return [];
    if (maxBytes === Number.POSITIVE_INFINITY) {
      return this.entries.slice(lo - this.offset, end - this.offset);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < end; i++) {
      const entry = this.entries[i - this.offset] as Entry;
      bytes += entry.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /**
   * Where to compact to so that the log keeps, of the entries up to `index`, the newest ones
   * that together number at most `maxEntries` and hold at most `maxBytes` bytes of data: the
   * index just before them (`index` itself when not even entry `index` fits). When every
   * retained entry up to `index` fits, the index before the first of them.
   */
  trailStart(index: number, maxEntries: number, maxBytes: number): number {
    let count = 0;
    let bytes = 0;
    for (let i = Math.min(index, this.lastIndex()); i >= this.offset; i--) {
      count++;
      bytes += (this.entries[i - this.offset] as Entry).data.byteLength;
      if (count > maxEntries || bytes > maxBytes) return i;
    }
    return this.offset - 1;
  }

  /** Raft's up-to-date rule (§5.4.1): a log with (lastIndex, lastTerm) is at least as new as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with its term (0 if unknown). A follower
   * rejecting an append uses it as a hint; a leader uses it to skip a conflicting term at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /**
   * Appends entries from an append message whose (prevIndex, prevTerm) must match. Only entries
   * that conflict with ours (same index, different term) and everything after them are
   * replaced; entries we already hold are kept, so a stale or reordered message never shortens
   * the log. Returns the index of the last entry of the message, or undefined on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as Entry;
      if (this.matchTerm(entry.index, entry.term)) continue;
      if (entry.index <= this.committed) {
        throw new Error(
          `raft safety violation: entry ${entry.index} (term ${entry.term}) conflicts with the committed log (commit ${this.committed})`,
        );
      }
      this.truncateAndAppend(entries.slice(k));
      break;
    }
    return prevIndex + entries.length;
  }

  /** Appends entries that continue the log (leader proposals). */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      this.entries.push(entry);
      this.retainedBytes += entry.data.byteLength;
    }
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    if (first <= this.lastIndex()) {
      this.retainedBytes -= dataBytes(this.entries, first - this.offset);
      this.entries.length = first - this.offset;
      this.persisted = Math.min(this.persisted, first - 1);
      this.persisting = Math.min(this.persisting, first - 1);
    }
    this.append(entries);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`commit index ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Replaces the whole log by a snapshot from the leader (the log conflicts or is too short). */
  restore(snapshot: SnapshotMeta): void {
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.entries = [];
    this.retainedBytes = 0;
    this.offset = snapshot.index + 1;
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.applying = snapshot.index;
    this.persisted = snapshot.index;
    this.persisting = snapshot.index;
  }

  /** Records a newer snapshot taken locally; its index must be in this log and applied. */
  setSnapshot(snapshot: SnapshotMeta): void {
    if (snapshot.index <= this.snapshot.index) return;
    if (snapshot.index > this.applied || !this.matchTerm(snapshot.index, snapshot.term)) {
      throw new Error(
        `snapshot at ${snapshot.index} (term ${snapshot.term}) does not match the applied log`,
      );
    }
    this.snapshot = snapshot;
  }

  /** Drops entries up to `index`, which a snapshot covers. */
  compact(index: number): void {
    if (index < this.offset) return;
    if (index > this.snapshot.index || index > this.persisted) {
      throw new Error(
        `cannot compact to ${index}: snapshot is at ${this.snapshot.index}, persisted ${this.persisted}`,
      );
    }
    const kept = this.entries.slice(index + 1 - this.offset);
    this.retainedBytes -= dataBytes(this.entries, 0, index + 1 - this.offset);
    this.entries = kept;
    this.offset = index + 1;
  }

  hasEntriesToPersist(): boolean {
    return this.persisting < this.lastIndex();
  }

  /** Entries not yet handed out for persistence; marks them handed out. */
  takeEntriesToPersist(): Entry[] {
    const entries = this.entries.slice(this.persisting + 1 - this.offset);
    this.persisting = this.lastIndex();
    return entries;
  }

  /**
   * The runtime made entries up to (index, term) durable. Ignored when the log changed since
   * (the entry was truncated and replaced), so a late acknowledgement never marks different
   * entries durable.
   */
  stableTo(index: number, term: number): void {
    if (index > this.persisted && index <= this.persisting && this.matchTerm(index, term)) {
      this.persisted = index;
    }
  }

  /** The highest index that may be handed out for applying: committed and locally durable. */
  applicableIndex(): number {
    return Math.min(this.committed, this.persisted);
  }

  hasEntriesToApply(): boolean {
    return this.applying < this.applicableIndex();
  }

  /** Committed, durable entries not yet handed out for applying; marks them handed out. */
  takeEntriesToApply(maxBytes: number): Entry[] {
    const entries = this.slice(this.applying + 1, this.applicableIndex() + 1, maxBytes) ?? [];
    if (entries.length > 0) this.applying = (entries[entries.length - 1] as Entry).index;
    return entries;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }
}

/** The data bytes of `entries[from, to)`. */
function dataBytes(entries: readonly Entry[], from: number, to = entries.length): number {
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += (entries[i] as Entry).data.byteLength;
  return bytes;
}
