import type { Entry } from "@raftstore/raft";
import { LogIndexError, StoreClosedError, WalCorruptionError } from "./errors.js";
import {
  closeAfter,
  type FileHandle,
  type FileSystem,
  joinPath,
  readExactly,
  ShortReadError,
  writeAndSync,
} from "./file-system.js";
import type { SyncGuard } from "./sync-guard.js";
import {
  decodeRecord,
  encodeRecord,
  encodeSegmentHeader,
  formatVersion,
  lastOfWriteFlag,
  recordSize,
  resetFlag,
  segmentHeaderSize,
  segmentName,
} from "./wal-format.js";
import type { SegmentState } from "./wal-recovery.js";

// How the log's operations change its files, and in which order, so that a crash between any
// two file-system calls leaves a log that recovery accepts and that holds every acknowledged
// entry (README.md, "Recovery"). The order rules:
// - a segment is synced in full, and cut back to its records (no preallocated zeros), before the
//   next one is created;
// - a new segment is durable (header synced, directory synced) before anything depends on it;
// - segments are removed one at a time, each removal durable before the next: oldest first when
//   compacting (what remains is contiguous), newest first when truncating (what remains is a
//   prefix of the old log);
// - reset creates its new segment, flagged "reset", before it removes the old ones.

/**
 * The segment files of one log and the operations on them. It runs one operation at a time (the
 * Wal's queue sees to that), and every write and sync goes through the guard, so a failure stops
 * the store.
 */
export class SegmentFiles {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #guard: SyncGuard;
  readonly #segmentSize: number;
  readonly #preallocate: number;
  #segments: SegmentState[];
  /** The newest segment's file size: its records plus the zeros written ahead of them. */
  #allocated: number;
  /** The open handle of the newest segment, where appends go; undefined once closed. */
  #active: FileHandle | undefined;

  constructor(
    fs: FileSystem,
    dir: string,
    guard: SyncGuard,
    segmentSize: number,
    preallocate: number,
    segments: SegmentState[],
    active: FileHandle,
    activeFileSize: number,
  ) {
    this.#fs = fs;
    this.#dir = dir;
    this.#guard = guard;
    this.#segmentSize = segmentSize;
    this.#preallocate = preallocate;
    this.#segments = segments;
    this.#active = active;
    this.#allocated = activeFileSize;
  }

  /** The index of the first entry on disk (one past `lastIndex` when the log is empty). */
  get firstIndex(): number {
    return (this.#segments[0] as SegmentState).firstIndex;
  }

  /** The index of the last entry on disk. */
  get lastIndex(): number {
    return lastIndexOf(this.#lastSegment);
  }

  get count(): number {
    return this.#segments.length;
  }

  /** Closes the newest segment's handle. */
  async close(): Promise<void> {
    const active = this.#active;
    this.#active = undefined;
    await active?.close();
  }

  get #lastSegment(): SegmentState {
    return this.#segments[this.#segments.length - 1] as SegmentState;
  }

  get #handle(): FileHandle {
    if (this.#active === undefined) throw new StoreClosedError("the log", "write");
    return this.#active;
  }

  /**
   * Writes `entries` after the last entry and syncs them, in one write and one fdatasync per
   * segment they land in; a segment that is full is sealed (already synced) and the next one
   * created before the rest is written.
   */
  async append(entries: readonly Entry[]): Promise<void> {
    let start = 0;
    while (start < entries.length) {
      const segment = this.#lastSegment;
      const room = this.#segmentSize - segment.size;
      let end = start;
      let bytes = 0;
      while (end < entries.length) {
        const size = recordSize(entries[end] as Entry);
        // An empty segment takes at least one record, however large.
        if (bytes + size > room && (end > start || segment.offsets.length > 0)) break;
        bytes += size;
        end++;
      }
      if (end === start) {
        await this.#rotate();
        continue;
      }
      const base = segment.size;
      // Records overwrite zeros already on disk where they can: an fdatasync that changes neither
      // the file's size nor its block map has no metadata to commit (README.md, "Preallocation").
      // When they reach the end of that space, the same write adds the next stretch of zeros.
      let length = bytes;
      if (base + bytes > this.#allocated && this.#preallocate > 0) {
        const target = Math.min(this.#segmentSize, roundUp(base + bytes + this.#preallocate));
        length = Math.max(bytes, target - base);
      }
      const buffer = Buffer.allocUnsafe(length);
      if (length > bytes) buffer.fill(0, bytes);
      const offsets: number[] = [];
      let offset = 0;
      for (let i = start; i < end; i++) {
        offsets.push(base + offset);
        // The last record of the write says so: recovery needs to know where each write ended.
        offset = encodeRecord(
          entries[i] as Entry,
          buffer,
          offset,
          i === end - 1 ? lastOfWriteFlag : 0,
        );
      }
      const handle = this.#handle;
      await this.#guard.sync(segment.path, "fdatasync", () => writeAndSync(handle, buffer, base));
      segment.size += bytes;
      this.#allocated = Math.max(this.#allocated, base + length);
      for (const recordOffset of offsets) segment.offsets.push(recordOffset);
      start = end;
    }
  }

  /**
   * Seals the newest segment (already synced) and starts the next one. A sealed segment holds
   * records only: the zeros written ahead are cut off, durably, before the next segment exists.
   */
  async #rotate(): Promise<void> {
    const last = this.#lastSegment;
    if (this.#allocated > last.size)
      await this.#guard.truncateDurably(last.path, this.#handle, last.size);
    const created = await createSegment(
      this.#fs,
      this.#guard,
      this.#dir,
      last.seq + 1,
      last.firstIndex + last.offsets.length,
      0,
    );
    await this.#replaceActive(last.path, created.handle);
    this.#allocated = created.segment.size;
    this.#segments.push(created.segment);
  }

  /** Removes every entry after `index`; the newest remaining segment takes the next appends. */
  async truncateAfter(index: number): Promise<void> {
    if (index >= this.lastIndex) return;
    if (index < this.firstIndex - 1) {
      throw new LogIndexError(
        "truncateAfter",
        `an index of at least ${this.firstIndex - 1}`,
        `${index}`,
      );
    }
    const target = index + 1;
    const fs = this.#fs;
    if (this.#lastSegment.firstIndex > target) {
      // Whole segments go first, newest first, each removal durable before the next: a crash
      // in between leaves a prefix of the old log, never a log with a hole.
      const last = this.#lastSegment;
      await this.#replaceActive(last.path, undefined);
      while (this.#lastSegment.firstIndex > target) {
        const segment = this.#lastSegment;
        await this.#guard.mutate("unlink", segment.path, () => fs.unlink(segment.path));
        await this.#syncDirectory();
        this.#segments.pop();
      }
      const path = this.#lastSegment.path;
      this.#active = await this.#guard.mutate("open", path, () => fs.open(path, "readWrite"));
    }
    const segment = this.#lastSegment;
    const cut = target - segment.firstIndex;
    const offset = segment.offsets[cut] as number;
    await this.#guard.truncateDurably(segment.path, this.#handle, offset);
    segment.offsets.length = cut;
    segment.size = offset;
    this.#allocated = offset;
  }

  /** Removes the oldest segments whose entries are all at or before `index`, never the newest. */
  async compact(index: number): Promise<void> {
    const fs = this.#fs;
    // Oldest first, each removal durable before the next: a crash leaves a contiguous log.
    while (this.#segments.length > 1 && lastIndexOf(this.#segments[0] as SegmentState) <= index) {
      const oldest = this.#segments[0] as SegmentState;
      await this.#guard.mutate("unlink", oldest.path, () => fs.unlink(oldest.path));
      await this.#syncDirectory();
      this.#segments.shift();
    }
  }

  /** Removes every entry; the log continues at `index + 1`. */
  async reset(index: number): Promise<void> {
    const fs = this.#fs;
    const last = this.#lastSegment;
    // The new segment is durable, flagged "reset", before any old one goes: after a crash,
    // recovery finishes the removal.
    const created = await createSegment(
      fs,
      this.#guard,
      this.#dir,
      last.seq + 1,
      index + 1,
      resetFlag,
    );
    await this.#replaceActive(last.path, created.handle);
    this.#allocated = created.segment.size;
    for (const segment of this.#segments) {
      await this.#guard.mutate("unlink", segment.path, () => fs.unlink(segment.path));
    }
    await this.#syncDirectory();
    this.#segments = [created.segment];
  }

  /** Reads and verifies the entries `from` to `to`, inclusive (`from === to + 1`: none). */
  async read(from: number, to: number): Promise<Entry[]> {
    const first = this.firstIndex;
    const last = this.lastIndex;
    if (
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      from < first ||
      to > last ||
      from > to + 1
    ) {
      throw new LogIndexError("read", `a range within ${first}..${last}`, `${from}..${to}`);
    }
    const entries: Entry[] = [];
    for (const segment of this.#segments) {
      const segmentLast = lastIndexOf(segment);
      if (segmentLast < from || segment.firstIndex > to) continue;
      const low = Math.max(from, segment.firstIndex);
      const high = Math.min(to, segmentLast);
      const start = segment.offsets[low - segment.firstIndex] as number;
      const end =
        high === segmentLast
          ? segment.size
          : (segment.offsets[high - segment.firstIndex + 1] as number);
      const bytes = await this.#readBytes(segment, start, end - start);
      let offset = 0;
      for (let index = low; index <= high; index++) {
        const record = decodeRecord(bytes, offset, index);
        if (!record.ok) throw new WalCorruptionError(segment.path, start + offset, record.problem);
        entries.push(record.entry);
        offset = record.end;
      }
    }
    return entries;
  }

  async #readBytes(segment: SegmentState, position: number, length: number): Promise<Buffer> {
    const read = (handle: FileHandle) =>
      readExactly(handle, segment.path, position, length).catch((error: unknown) => {
        if (!(error instanceof ShortReadError)) throw error;
        throw new WalCorruptionError(segment.path, position, error.message);
      });
    if (segment === this.#lastSegment) return read(this.#handle);
    const handle = await this.#fs.open(segment.path, "read");
    return closeAfter(handle, () => read(handle));
  }

  /** Closes the newest segment's handle (`path`) and makes `next` the one appends go to. */
  async #replaceActive(path: string, next: FileHandle | undefined): Promise<void> {
    const previous = this.#active;
    this.#active = next;
    if (previous !== undefined) await this.#guard.mutate("close", path, () => previous.close());
  }

  #syncDirectory(): Promise<void> {
    const dir = this.#dir;
    return this.#guard.sync(dir, "fsync-directory", () => this.#fs.syncDirectory(dir));
  }
}

/** Rounded up to a whole 4 KiB page. */
function roundUp(bytes: number): number {
  return Math.ceil(bytes / 4096) * 4096;
}

function lastIndexOf(segment: SegmentState): number {
  return segment.firstIndex + segment.offsets.length - 1;
}

/** Creates a segment durably: header written and synced, directory entry synced. */
export async function createSegment(
  fs: FileSystem,
  guard: SyncGuard,
  dir: string,
  seq: number,
  firstIndex: number,
  flags: number,
): Promise<{ segment: SegmentState; handle: FileHandle }> {
  const name = segmentName(seq, firstIndex);
  const path = joinPath(dir, name);
  const handle = await guard.mutate("create", path, () => fs.open(path, "createNew"));
  const header = encodeSegmentHeader({ version: formatVersion, flags, seq, firstIndex });
  await guard.mutate("write", path, () => handle.write(header, 0));
  await guard.sync(path, "fdatasync", () => handle.datasync());
  await guard.sync(dir, "fsync-directory", () => fs.syncDirectory(dir));
  const reset = (flags & resetFlag) !== 0;
  return {
    segment: { name, path, seq, firstIndex, reset, offsets: [], size: segmentHeaderSize },
    handle,
  };
}
