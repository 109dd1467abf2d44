import type { Entry, LogContents, LogStore } from "@raftstore/raft";
import { validateAppend } from "./entry-validation.js";
import { LogIndexError, StoreClosedError, WalCorruptionError } from "./errors.js";
import type { FileHandle, FileSystem } from "./file-system.js";
import type { Logger } from "./logger.js";
import { createSegment, SegmentFiles } from "./segment-files.js";
import type { SyncGuard } from "./sync-guard.js";
import { recordSize } from "./wal-format.js";
import { type RecoveryReport, recoverSegments, type SegmentState } from "./wal-recovery.js";

/** How the write-ahead log lays out its files. */
export interface WalOptions {
  /**
   * A segment is sealed, and the next one started, once the next record would make it larger
   * than this many bytes (a single larger record gets a segment of its own). Compaction removes
   * whole segments, so this is also the granularity of reclaiming space. Default 64 MiB.
   */
  readonly segmentSize?: number;
  /** The most bytes one group commit writes before it syncs. Default 16 MiB. */
  readonly maxBatchBytes?: number;
  /**
   * How many bytes of zeros the newest segment holds ahead of its next record, written (and
   * synced) a stretch at a time, so that an append's fdatasync has no file size or block
   * allocation to commit. 0 turns it off. Default 256 KiB (never beyond `segmentSize`).
   */
  readonly preallocateBytes?: number;
}

/** @internal What `openWal` needs. */
export interface OpenWalParams {
  readonly fs: FileSystem;
  /** The directory holding the segments; it must exist. */
  readonly dir: string;
  readonly guard: SyncGuard;
  readonly logger: Logger;
  readonly options?: WalOptions | undefined;
  /** Start an empty log when the directory holds no segment (a new data directory only). */
  readonly create?: boolean;
}

const defaultSegmentSize = 64 * 1024 * 1024;
const defaultMaxBatchBytes = 16 * 1024 * 1024;
const defaultPreallocateBytes = 256 * 1024;
const optionMinimum: Record<keyof WalOptions, number> = {
  segmentSize: 1,
  maxBatchBytes: 1,
  preallocateBytes: 0,
};

interface AppendOperation {
  readonly kind: "append";
  readonly entries: readonly Entry[];
  readonly bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface OtherOperation {
  readonly kind: "truncateAfter" | "compact" | "reset" | "read" | "close";
  /** Whether an unexpected failure leaves the files in an unknown state (and stops the store). */
  readonly mutates: boolean;
  run(): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Operation = AppendOperation | OtherOperation;

/**
 * Opens the write-ahead log in `dir`: recovers it (repairing a torn tail, refusing any other
 * damage with a WalCorruptionError that names the file and offset) and readies it for appends.
 */
export async function openWal(params: OpenWalParams): Promise<Wal> {
  const { fs, dir, guard, logger } = params;
  for (const [name, value] of Object.entries(params.options ?? {})) {
    const least = optionMinimum[name as keyof WalOptions] ?? 1;
    if (value !== undefined && (!Number.isSafeInteger(value) || value < least)) {
      throw new RangeError(
        `expected ${name} to be an integer of at least ${least} (bytes), found ${value}`,
      );
    }
  }
  const { segments, report } = await recoverSegments(fs, dir, guard, logger);
  let active: FileHandle;
  if (segments.length === 0) {
    if (params.create !== true) {
      throw new WalCorruptionError(
        dir,
        0,
        "expected at least one log segment, found none: the log's files are missing",
      );
    }
    const created = await createSegment(fs, guard, dir, 1, 1, 0);
    segments.push(created.segment);
    active = created.handle;
  } else {
    const last = segments[segments.length - 1] as SegmentState;
    active = await guard.mutate("open", last.path, () => fs.open(last.path, "readWrite"));
  }
  const files = new SegmentFiles(
    fs,
    dir,
    guard,
    params.options?.segmentSize ?? defaultSegmentSize,
    params.options?.preallocateBytes ?? defaultPreallocateBytes,
    segments,
    active,
    await active.size(),
  );
  const wal = new Wal(params, files, report);
  logger.info(
    { dir, segments: segments.length, firstIndex: wal.firstIndex, lastIndex: wal.lastIndex },
    "write-ahead log opened",
  );
  return wal;
}

/**
 * The durable Raft log: a directory of segment files, each a header and a run of checksummed
 * records (README.md, "On-disk format").
 *
 * Calls take effect in call order. Appends queue up while a sync is running and then go to disk
 * together in one write and one fdatasync (group commit); each append's promise resolves only
 * after the sync that covers it, so the engine learns an entry is durable only once it is. A
 * batch starts a microtask after its first append, and one that queued during a sync waits a turn
 * of the event loop, so that callers woken by the last sync join it rather than split in two.
 * Truncation, compaction and reset run in the same queue. Any failed write or sync stops the
 * log (and every store sharing its guard): the failed call and every later one reject with the
 * same StoreFailedError, and nothing after it is acknowledged.
 *
 * Every read verifies every record again (checksums, index, the entry's own checksum): damage is
 * reported as a WalCorruptionError, never returned as data.
 */
export class Wal implements LogStore {
  /** What recovery found and repaired when the log was opened. */
  readonly recovery: RecoveryReport;
  readonly #files: SegmentFiles;
  readonly #dir: string;
  readonly #guard: SyncGuard;
  readonly #maxBatchBytes: number;
  readonly #queue: Operation[] = [];
  #draining = false;
  #closing: Promise<void> | undefined;
  /** The index the next append must start with, once every queued call has run. */
  #nextIndex: number;
  /** The lowest index truncateAfter may take, once every queued call has run. */
  #floor: number;

  /** @internal Use openWal (or openDataDir). */
  constructor(params: OpenWalParams, files: SegmentFiles, recovery: RecoveryReport) {
    this.#files = files;
    this.#dir = params.dir;
    this.#guard = params.guard;
    this.#maxBatchBytes = params.options?.maxBatchBytes ?? defaultMaxBatchBytes;
    this.recovery = recovery;
    this.#nextIndex = this.lastIndex + 1;
    this.#floor = this.compactedIndex;
  }

  /** The index of the first entry on disk (one past `lastIndex` when the log is empty). */
  get firstIndex(): number {
    return this.#files.firstIndex;
  }

  /** The index of the last durable entry (`compactedIndex` when the log is empty). */
  get lastIndex(): number {
    return this.#files.lastIndex;
  }

  /** The index just before the first entry on disk. */
  get compactedIndex(): number {
    return this.firstIndex - 1;
  }

  /** The number of segment files. */
  get segmentCount(): number {
    return this.#files.count;
  }

  load(): Promise<LogContents> {
    return this.#enqueue("read", false, "load", async () => ({
      compactedIndex: this.compactedIndex,
      entries: await this.#files.read(this.firstIndex, this.lastIndex),
    }));
  }

  /**
   * Reads the entries `from` to `to` (inclusive) back from disk, verifying every one. An empty
   * range (`from === to + 1`) is allowed. Outside the retained entries: LogIndexError. The
   * entries' data are views into one buffer per segment read (no copy per entry).
   */
  read(from: number, to: number): Promise<Entry[]> {
    return this.#enqueue("read", false, "read", () => this.#files.read(from, to));
  }

  /**
   * Appends entries that continue the log; resolves once they are durable. Each entry is checked
   * against its own checksum first (InvalidEntryError, nothing written). The entries and their
   * data belong to the log until the promise settles: they are encoded when their group commit
   * runs, so they must not change before.
   */
  append(entries: readonly Entry[]): Promise<void> {
    const refusal = this.#refusal("append");
    if (refusal !== undefined) return Promise.reject(refusal);
    let bytes = 0;
    try {
      validateAppend(entries, this.#nextIndex);
      for (const entry of entries) bytes += recordSize(entry);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#nextIndex += entries.length;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: "append", entries, bytes, resolve, reject });
      this.#kick();
    });
  }

  truncateAfter(index: number): Promise<void> {
    const problem =
      checkIndex("truncateAfter", index) ??
      (index < this.#floor
        ? new LogIndexError(
            "truncateAfter",
            `an index of at least ${this.#floor} (entries up to it are compacted, or covered by a snapshot)`,
            `${index}`,
          )
        : undefined);
    if (problem !== undefined) return this.#refuse("truncateAfter", problem);
    if (this.#refusal("truncateAfter") === undefined && index < this.#nextIndex - 1) {
      this.#nextIndex = index + 1;
    }
    return this.#enqueue("truncateAfter", true, "truncateAfter", () =>
      this.#files.truncateAfter(index),
    );
  }

  compact(index: number): Promise<void> {
    const problem =
      checkIndex("compact", index) ??
      (index > this.#nextIndex - 1
        ? new LogIndexError(
            "compact",
            `an index of at most ${this.#nextIndex - 1} (the last entry)`,
            `${index}`,
          )
        : undefined);
    if (problem !== undefined) return this.#refuse("compact", problem);
    if (this.#refusal("compact") === undefined) this.#floor = Math.max(this.#floor, index);
    return this.#enqueue("compact", true, "compact", () => this.#files.compact(index));
  }

  reset(index: number): Promise<void> {
    const problem = checkIndex("reset", index);
    if (problem !== undefined) return this.#refuse("reset", problem);
    if (this.#refusal("reset") === undefined) {
      this.#nextIndex = index + 1;
      this.#floor = index;
    }
    return this.#enqueue("reset", true, "reset", () => this.#files.reset(index));
  }

  /**
   * Lets every queued call finish, then closes the files. Rejects with the store's failure if it
   * failed (the files are closed all the same).
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve, reject) => {
      this.#queue.push({
        kind: "close",
        mutates: false,
        run: async () => {
          await this.#files.close();
          this.#guard.check();
        },
        resolve: () => resolve(),
        reject,
      });
      this.#kick();
    });
    return this.#closing;
  }

  // --- the queue -------------------------------------------------------------------------------

  #refusal(operation: string): Error | undefined {
    if (this.#closing !== undefined) return new StoreClosedError("the log", operation);
    return this.#guard.failure;
  }

  #refuse(operation: string, problem: Error): Promise<never> {
    return Promise.reject(this.#refusal(operation) ?? problem);
  }

  #enqueue<T>(
    kind: OtherOperation["kind"],
    mutates: boolean,
    operation: string,
    run: () => Promise<T>,
  ): Promise<T> {
    const refusal = this.#refusal(operation);
    if (refusal !== undefined) return Promise.reject(refusal);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        kind,
        mutates,
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = true;
    // A microtask later, so that appends made in the same turn (every caller the last group
    // commit woke, say) start as one batch instead of one alone and the rest behind it.
    queueMicrotask(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const failure = this.#guard.failure;
      const head = this.#queue[0] as Operation;
      if (failure !== undefined && head.kind !== "close") {
        this.#queue.shift();
        head.reject(failure);
      } else if (head.kind === "append") {
        const batch = this.#takeBatch();
        try {
          const entries =
            batch.length === 1
              ? (batch[0] as AppendOperation).entries
              : batch.flatMap((append) => append.entries);
          await this.#files.append(entries);
        } catch (error) {
          const reason = this.#guard.failure ?? this.#guard.fail("append", this.#dir, error);
          for (const append of batch) append.reject(reason);
          continue;
        }
        for (const append of batch) append.resolve();
        // Appends queued while that batch synced go next, but they wait one turn of the event
        // loop first: the callers just woken append again in it and join the same batch.
        // Without the wait, callers split into two cohorts that alternate, each sync carrying
        // half of them.
        if (this.#queue[0]?.kind === "append") await nextTurn();
      } else {
        this.#queue.shift();
        try {
          head.resolve(await head.run());
        } catch (error) {
          // A refused request (LogIndexError) changed nothing; anything unexpected in the middle
          // of a mutation leaves the files in an unknown state, so it stops the store.
          const unexpected = head.mutates && !(error instanceof LogIndexError);
          head.reject(
            unexpected
              ? (this.#guard.failure ?? this.#guard.fail(head.kind, this.#dir, error))
              : error,
          );
        }
      }
    }
    this.#draining = false;
  }

  /** Takes the appends at the head of the queue, up to maxBatchBytes (at least one). */
  #takeBatch(): AppendOperation[] {
    let count = 0;
    let bytes = 0;
    for (const operation of this.#queue) {
      if (operation.kind !== "append") break;
      if (count > 0 && bytes + operation.bytes > this.#maxBatchBytes) break;
      bytes += operation.bytes;
      count++;
    }
    return this.#queue.splice(0, count) as AppendOperation[];
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function checkIndex(operation: string, index: number): LogIndexError | undefined {
  return Number.isSafeInteger(index) && index >= 0
    ? undefined
    : new LogIndexError(operation, "a non-negative integer index", `${index}`);
}
