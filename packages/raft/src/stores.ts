import type { Entry, HardState, NodeId, SnapshotMeta } from "./log-types.js";

// The interfaces through which the runtime persists state. Every promise resolves only once
// what it wrote is durable (synced to stable storage): the runtime sends and acknowledges
// nothing that depends on a write before that write's promise resolves. A store that cannot
// make a write durable (a failed fsync) must reject and refuse every later call: a failed sync
// is never retried on the same data, and the node stops.

/** What a log store holds when it is opened. */
export interface LogContents {
  /**
   * The index just before the first retained entry: the last index removed by `compact` or
   * `reset` (0 for a new log). The next append after a `reset(i)` is `i + 1`.
   */
  readonly compactedIndex: number;
  /** The retained entries, contiguous and in index order, each verified against its checksum. */
  readonly entries: readonly Entry[];
}

/**
 * The durable replicated log. The runtime keeps the retained entries in memory and uses the
 * store for durability; reads happen when the node starts.
 *
 * Calls take effect in the order they are made, even when the runtime does not wait for one to
 * finish before making the next; concurrent appends may share one sync (group commit).
 */
export interface LogStore {
  /** Reads the log back. Fails, naming the file and offset, on any damage other than a torn tail. */
  load(): Promise<LogContents>;
  /** Appends entries that continue the log without a gap. Resolves once they are durable. */
  append(entries: readonly Entry[]): Promise<void>;
  /** Removes every entry with an index greater than `index` (a log conflict). */
  truncateAfter(index: number): Promise<void>;
  /** Allows every entry with an index up to `index` to be removed (covered by a snapshot). */
  compact(index: number): Promise<void>;
  /** Removes every entry; the log continues at `index + 1` (a snapshot was installed). */
  reset(index: number): Promise<void>;
  /** Releases files and handles. Pending calls finish first. */
  close(): Promise<void>;
}

/** The durable home of the hard state (term and vote). */
export interface StableStore {
  /** The last saved state, or `{ term: 0, vote: "" }` for a new node. */
  load(): Promise<HardState>;
  /** Replaces the saved state atomically: after a crash, either the old or the new is read. */
  save(state: HardState): Promise<void>;
  close(): Promise<void>;
}

/** A snapshot being written. Nothing is visible until `commit` resolves. */
export interface SnapshotSink {
  /** Appends bytes. The caller may reuse nothing it passed after the promise resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the snapshot durable and visible, then returns its size in bytes. */
  commit(): Promise<number>;
  /** Discards what was written. Safe to call at any time, also after a failed write. */
  abort(): Promise<void>;
}

/** A stored snapshot, opened for reading. */
export interface SnapshotSource {
  readonly meta: SnapshotMeta;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads the contents in chunks, starting at byte `offset` (to resume a transfer). Each chunk
   * is verified by the store; damage rejects the iteration with an error that names the file.
   */
  read(offset?: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** Durable snapshots. */
export interface SnapshotStore {
  /** Starts writing a snapshot with the given metadata. */
  create(meta: SnapshotMeta): Promise<SnapshotSink>;
  /** Opens a complete snapshot (the newest when `meta` is omitted). */
  open(meta?: SnapshotIdentity): Promise<SnapshotSource | undefined>;
  /**
   * The complete snapshots, newest first, as stored: nothing is read or checked yet, so a
   * damaged one is listed too (opening or reading it then fails with a SnapshotDamagedError).
   */
  list(): Promise<readonly SnapshotIdentity[]>;
  /**
   * Takes a damaged snapshot out of the store: no later call lists or opens it. A store on disk
   * keeps the bytes under another name, for inspection. Unknown snapshots are ignored.
   */
  setAside(snapshot: SnapshotIdentity): Promise<void>;
  close(): Promise<void>;
}

/** What names a stored snapshot. */
export interface SnapshotIdentity {
  readonly index: number;
  readonly term: number;
}

/** Whether `a` and `b` name the same snapshot (the same index and term). */
export function sameSnapshot(a: SnapshotIdentity, b: SnapshotIdentity): boolean {
  return a.index === b.index && a.term === b.term;
}

/**
 * The application state machine the log drives. `apply` is called for every committed Normal
 * entry, in index order, exactly once per incarnation of the FSM (after a restore, it continues
 * from the snapshot's index). Other entry types never reach `apply`.
 */
export interface FSM {
  /** Applies one committed entry and returns the response handed to the proposer. */
  apply(entry: Entry): unknown;
  /**
   * Captures the current state at once (a point-in-time view) and returns it as a stream of
   * bytes that may be read later, while entries continue to be applied. (An async generator
   * captures when its first chunk is asked for; the runtime asks at once.)
   */
  snapshot(): AsyncIterable<Uint8Array>;
  /**
   * Replaces the whole state with a snapshot's contents; the state then stands at `meta.index`.
   * Called at start, for a snapshot installed from the leader, and for a snapshot restored onto
   * the cluster (`RaftNode.restore`, at the index of its commit entry). For the last, it must
   * be deterministic like `apply` (every node gets the same bytes) and atomic when it refuses
   * them: if it throws, the state must be left as it was, and the restore is refused on every
   * node alike. Elsewhere a throw stops the node, except when `contents` fails with a
   * SnapshotDamagedError at start: the node then restores an older snapshot instead, so the
   * state must be left as it was then too.
   */
  restore(contents: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void>;
}

/** Re-exported for stores that only need the id type. */
export type { NodeId };
