import { UnsupportedFormatError, WalCorruptionError } from "./errors.js";
import {
  closeAfter,
  type FileSystem,
  joinPath,
  readExactly,
  readWholeFile,
} from "./file-system.js";
import type { Logger } from "./logger.js";
import type { SyncGuard } from "./sync-guard.js";
import {
  decodeRecord,
  decodeSegmentHeader,
  endOfNonZero,
  flaggedWritesFormat,
  hasLaterWrite,
  isHeaderPrefix,
  looksLikeLostSector,
  parseSegmentName,
  readableFormatVersions,
  recordHeaderSize,
  resetFlag,
  segmentHeaderSize,
} from "./wal-format.js";

// Recovery reads every segment at open and decides, for the first bad byte it meets, whether a
// crash can explain it. The rules (README.md, "Recovery"):
//
// - Only the newest segment can end in a torn write: a segment is synced completely before the
//   next one is created. Damage anywhere else is corruption.
// - In the newest segment, a record is torn when it is incomplete and nothing non-zero follows
//   its cut: a crash leaves a prefix of the last write, then zeros or the end of the file. When
//   even the record's header is cut short, what is there must agree with the header of the
//   expected entry (record type, flags, zero byte, index) wherever it was written.
// - A write over space already on disk (preallocated zeros) can also reach the disk scattered:
//   some of its sectors and not others, in any order. So a bad record in the newest segment is
//   torn as well when it has zeros where no record has them and no single flipped bit puts them
//   (its whole end marker, or the last eight bytes of its header: a sector that never arrived),
//   and no complete later write follows it. Only the last write can have been unsynced, since
//   each write is synced before the next begins; the last record of every write carries a flag
//   (segment format 2), which is how a later write is recognised.
// - Anything else is damage after the data was written: a complete record that fails a
//   checksum, a bad record followed by a later write. Corruption.
// - A newest segment whose header is incomplete (a crash while rotating or resetting) is
//   removed; one whose complete header fails its checksum is corruption.
// - A segment flagged "reset" makes every older segment obsolete (a crash in the middle of
//   reset left them behind); they are removed.
// - Sequence numbers must be consecutive and each segment must start at the index after the
//   previous one's last entry: a missing, extra or reordered segment is corruption.

/** A segment as recovery found it, and as the log keeps track of it afterwards. */
export interface SegmentState {
  readonly name: string;
  readonly path: string;
  readonly seq: number;
  readonly firstIndex: number;
  readonly reset: boolean;
  /** The offset of each record, in index order (offsets[i] holds entry firstIndex + i). */
  offsets: number[];
  /** The bytes in use: the header plus every record. */
  size: number;
}

/** What recovery repaired or left alone. */
export interface RecoveryReport {
  /** A torn final record that was cut off, if there was one. */
  readonly tornTail:
    | {
        readonly file: string;
        readonly offset: number;
        readonly droppedBytes: number;
        readonly problem: string;
      }
    | undefined;
  /** Segments removed: an incomplete newest one, or obsolete ones left by an interrupted reset. */
  readonly removedSegments: readonly string[];
  /** Files in the log directory that are not segments (left alone). */
  readonly ignoredFiles: readonly string[];
}

interface Found {
  readonly name: string;
  readonly path: string;
  readonly seq: number;
  readonly firstIndex: number;
}

/** Reads, verifies and repairs the segments in `dir`. */
export async function recoverSegments(
  fs: FileSystem,
  dir: string,
  guard: SyncGuard,
  logger: Logger,
): Promise<{ segments: SegmentState[]; report: RecoveryReport }> {
  const ignoredFiles: string[] = [];
  const removedSegments: string[] = [];
  let found: Found[] = [];
  for (const name of await fs.readdir(dir)) {
    const parsed = parseSegmentName(name);
    if (parsed === undefined) {
      ignoredFiles.push(name);
      logger.warn({ dir, file: name }, "ignoring a file that is not a log segment");
    } else {
      found.push({ name, path: joinPath(dir, name), ...parsed });
    }
  }
  found.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < found.length; i++) {
    const [previous, current] = [found[i - 1] as Found, found[i] as Found];
    if (previous.seq === current.seq) {
      throw new WalCorruptionError(
        current.path,
        0,
        `expected one segment with sequence number ${current.seq}, found ${previous.name} and ${current.name}`,
      );
    }
  }

  const remove = async (segment: Found, why: string) => {
    await guard.mutate("unlink", segment.path, () => fs.unlink(segment.path));
    removedSegments.push(segment.name);
    logger.warn({ file: segment.path }, why);
  };
  const syncDir = () => guard.sync(dir, "fsync-directory", () => fs.syncDirectory(dir));

  // Headers. The newest segment may have been cut short while it was being created.
  const headers = [];
  let newestIsTornCandidate = found.length > 0;
  for (let i = 0; i < found.length; i++) {
    const segment = found[i] as Found;
    const header = decodeSegmentHeader(await readHeader(fs, segment.path));
    if (typeof header === "string") {
      const newest = i === found.length - 1;
      if (newest && endOfNonZero(await readWholeFile(fs, segment.path)) < segmentHeaderSize) {
        await remove(segment, "removed a log segment whose header a crash cut short");
        await syncDir();
        found = found.slice(0, i);
        newestIsTornCandidate = false;
        break;
      }
      throw new WalCorruptionError(segment.path, 0, header);
    }
    if (!readableFormatVersions.includes(header.version)) {
      throw new UnsupportedFormatError(
        segment.path,
        `log segment format ${header.version}`,
        `log segment format ${readableFormatVersions.join(" or ")}`,
      );
    }
    if (header.seq !== segment.seq || header.firstIndex !== segment.firstIndex) {
      throw new WalCorruptionError(
        segment.path,
        0,
        `the file name says segment ${segment.seq} starting at entry ${segment.firstIndex}, ` +
          `the header says segment ${header.seq} starting at entry ${header.firstIndex}`,
      );
    }
    headers.push(header);
  }

  // An interrupted reset: everything before the newest reset segment is obsolete.
  const lastReset = headers.findLastIndex((header) => (header.flags & resetFlag) !== 0);
  if (lastReset > 0) {
    for (const segment of found.slice(0, lastReset)) {
      await remove(segment, "removed a log segment made obsolete by an interrupted reset");
    }
    await syncDir();
    found = found.slice(lastReset);
    headers.splice(0, lastReset);
  }

  const segments: SegmentState[] = [];
  let tornTail: RecoveryReport["tornTail"];
  let expectedIndex = 0;
  for (let i = 0; i < found.length; i++) {
    const segment = found[i] as Found;
    const header = headers[i] as { flags: number; version: number };
    if (i > 0) {
      const previous = found[i - 1] as Found;
      if (segment.seq !== previous.seq + 1) {
        throw new WalCorruptionError(
          segment.path,
          0,
          `expected segment ${previous.seq + 1} after ${previous.name}, found segment ${segment.seq}: a segment is missing`,
        );
      }
      if (segment.firstIndex !== expectedIndex) {
        throw new WalCorruptionError(
          segment.path,
          0,
          `expected the segment to start at entry ${expectedIndex} (after the last entry of ${previous.name}), ` +
            `found ${segment.firstIndex}`,
        );
      }
    }
    const bytes = await readWholeFile(fs, segment.path);
    const offsets: number[] = [];
    let offset = segmentHeaderSize;
    let index = segment.firstIndex;
    while (offset < bytes.length) {
      const record = decodeRecord(bytes, offset, index);
      if (record.ok) {
        offsets.push(offset);
        offset = record.end;
        index++;
        continue;
      }
      const newest = i === found.length - 1 && newestIsTornCandidate;
      const nonZeroEnd = endOfNonZero(bytes);
      // Nothing but zeros after the last record of the newest segment: space the log wrote
      // ahead of its next record (or a crash's lost write, indistinguishable and harmless). Kept,
      // also when a torn newer segment was just removed (a reset does not seal the segment it
      // replaces: recovery removes that one once the reset segment is complete).
      if (i === found.length - 1 && nonZeroEnd <= offset) break;
      const cutShort =
        record.declaredEnd === undefined
          ? nonZeroEnd <= offset + recordHeaderSize &&
            isHeaderPrefix(bytes, offset, nonZeroEnd, index)
          : record.declaredEnd > nonZeroEnd;
      // Only segments that flag where each write ends (format 2) can show a later write.
      const scattered =
        !cutShort &&
        header.version >= flaggedWritesFormat &&
        looksLikeLostSector(bytes, offset, record.declaredEnd, index) &&
        !hasLaterWrite(bytes, offset, nonZeroEnd, index);
      const torn = newest && !record.damaged && (cutShort || scattered);
      if (!torn) throw new WalCorruptionError(segment.path, offset, record.problem);
      const droppedBytes = bytes.length - offset;
      await truncateFile(fs, guard, segment.path, offset);
      const problem = scattered
        ? `${record.problem} (a sector of the last write never reached the disk; sectors after it did)`
        : record.problem;
      tornTail = { file: segment.path, offset, droppedBytes, problem };
      logger.warn(
        { file: segment.path, offset, droppedBytes, problem, nextIndex: index },
        "truncated a torn final record left by a crash (it was never acknowledged)",
      );
      break;
    }
    segments.push({
      name: segment.name,
      path: segment.path,
      seq: segment.seq,
      firstIndex: segment.firstIndex,
      reset: (header.flags & resetFlag) !== 0,
      offsets,
      size: offset,
    });
    expectedIndex = index;
  }
  return { segments, report: { tornTail, removedSegments, ignoredFiles } };
}

async function readHeader(fs: FileSystem, path: string): Promise<Buffer> {
  const handle = await fs.open(path, "read");
  return closeAfter(handle, async () => {
    const size = await handle.size();
    return readExactly(handle, path, 0, Math.min(size, segmentHeaderSize));
  });
}

async function truncateFile(fs: FileSystem, guard: SyncGuard, path: string, size: number) {
  const handle = await fs.open(path, "readWrite");
  await closeAfter(handle, () => guard.truncateDurably(path, handle, size));
}
