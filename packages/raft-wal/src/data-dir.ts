import { type Clock, systemClock } from "./clock.js";
import { type StoreFailedError, UnsupportedFormatError, WalCorruptionError } from "./errors.js";
import {
  exists,
  type FileSystem,
  hasErrorCode,
  joinPath,
  parentOf,
  readWholeFile,
  writeFileAtomically,
} from "./file-system.js";
import { acquireLock, currentProcess, type DataDirLock, type ProcessProbe } from "./lock-file.js";
import { type Logger, stderrLogger } from "./logger.js";
import { createNodeFileSystem } from "./node-file-system.js";
import { type FileSnapshotStore, openSnapshotStore } from "./snapshot-store.js";
import { decodeHardState, type FileStableStore, openStableStore } from "./stable-store.js";
import { type SlowSyncInfo, SyncGuard } from "./sync-guard.js";
import { SyncMetrics } from "./sync-metrics.js";
import { openWal, type Wal } from "./wal.js";
import { parseSegmentName, segmentHeaderSize } from "./wal-format.js";

/** How to open a data directory. Every option has a default. */
export interface DataDirOptions {
  /** The file system to use. Default: the machine's (createNodeFileSystem). */
  readonly fs?: FileSystem;
  /** The size at which a log segment is sealed and the next one started. Default 64 MiB. */
  readonly segmentSize?: number;
  /** The most bytes one group commit of the log writes before it syncs. Default 16 MiB. */
  readonly maxBatchBytes?: number;
  /** Zeros the newest log segment holds ahead of its next record (WalOptions). Default 256 KiB. */
  readonly preallocateBytes?: number;
  /** How many snapshots to keep, newest first. Default 2. */
  readonly retainSnapshots?: number;
  /** The size of a snapshot's checksummed chunks. Default 256 KiB. */
  readonly snapshotChunkSize?: number;
  /** A sync slower than this (milliseconds) is reported through `onSlowSync`. Default 100. */
  readonly slowSyncMs?: number;
  /**
   * Called when a sync passes `slowSyncMs`: once while it is still running (so a stalled disk is
   * noticed at once, and a leader can step down) and once when it finishes. It runs on its own
   * microtask; an exception it throws is an uncaught exception, not a store failure.
   */
  readonly onSlowSync?: (info: SlowSyncInfo) => void;
  /** Where recovery and the lock report what they did. Default: warnings to stderr. */
  readonly logger?: Logger;
  /** The clock syncs are timed with. Default: performance.now. */
  readonly clock?: Clock;
  /** Whose lock this is, and how to tell a dead holder. Default: this process. */
  readonly process?: ProcessProbe;
}

/** The names in a data directory (README.md, "On-disk format"). */
export const dataDirLayout = Object.freeze({
  format: "FORMAT",
  lock: "LOCK",
  stable: "stable",
  wal: "wal",
  snapshots: "snapshots",
});

/** The format version this package reads and writes. */
export const dataDirFormatVersion = 1;
const formatHeading = "raftstore data directory";
const formatText = `${formatHeading}\nformat ${dataDirFormatVersion}\n`;

/**
 * An open data directory: the node's durable state, locked against other processes. Its three
 * stores share one SyncGuard: a failed write or sync in any of them stops all of them.
 */
export class DataDir {
  readonly path: string;
  /** The write-ahead log (the engine's LogStore). */
  readonly log: Wal;
  /** The term and vote (the engine's StableStore). */
  readonly stable: FileStableStore;
  /** The snapshots (the engine's SnapshotStore). */
  readonly snapshots: FileSnapshotStore;
  /** Sync counts and latencies of every store, for the server's metrics. */
  readonly metrics: SyncMetrics;
  readonly #guard: SyncGuard;
  readonly #lock: DataDirLock;
  #closing: Promise<void> | undefined;

  /** @internal Use openDataDir. */
  constructor(
    path: string,
    stores: { log: Wal; stable: FileStableStore; snapshots: FileSnapshotStore },
    guard: SyncGuard,
    lock: DataDirLock,
  ) {
    this.path = path;
    this.log = stores.log;
    this.stable = stores.stable;
    this.snapshots = stores.snapshots;
    this.metrics = guard.metrics;
    this.#guard = guard;
    this.#lock = lock;
  }

  /** The failure that stopped the stores (a failed write or sync), if any. */
  get failure(): StoreFailedError | undefined {
    return this.#guard.failure;
  }

  /**
   * Closes the stores (pending calls finish first) and releases the lock. Rejects with the
   * stores' failure, if they failed; the lock is released all the same.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const results = await Promise.allSettled([
        this.log.close(),
        this.stable.close(),
        this.snapshots.close(),
      ]);
      await this.#lock.release();
      for (const result of results) if (result.status === "rejected") throw result.reason;
    })();
    return this.#closing;
  }
}

/**
 * Opens the data directory at `path`, creating it (and its layout) if it does not exist. Fails at
 * once with DataDirLockedError if another process has it open, with UnsupportedFormatError if it
 * holds another format (or other files), and with a corruption error if its contents are damaged
 * in a way a crash cannot explain. A torn log tail left by a crash is repaired (and logged).
 */
export async function openDataDir(path: string, options: DataDirOptions = {}): Promise<DataDir> {
  const fs = options.fs ?? createNodeFileSystem();
  const logger = options.logger ?? stderrLogger;
  const slowSyncMs = options.slowSyncMs ?? 100;
  if (!(slowSyncMs >= 0)) {
    throw new RangeError(`expected slowSyncMs to be a number of milliseconds, found ${slowSyncMs}`);
  }
  const dir = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const guard = new SyncGuard({
    metrics: new SyncMetrics(),
    clock: options.clock ?? systemClock,
    slowSyncMs,
    onSlowSync: options.onSlowSync,
  });
  const sync = (target: string) =>
    guard.sync(target, "fsync-directory", () => fs.syncDirectory(target));

  // A new directory entry is durable once its parent is synced: every directory this creates.
  const missing: string[] = [];
  for (let at = dir; parentOf(at) !== at && !(await exists(fs, at)); at = parentOf(at)) {
    missing.push(at);
  }
  await fs.mkdir(dir);
  for (const created of missing) await sync(parentOf(created));
  const lock = await acquireLock(fs, dir, options.process ?? currentProcess(), logger);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const isNew = !(await readFormat(fs, dir));
    if (isNew) {
      await checkPristine(fs, dir);
      await fs.mkdir(joinPath(dir, dataDirLayout.wal));
      await fs.mkdir(joinPath(dir, dataDirLayout.snapshots));
      await sync(dir);
    }
    const stable = await openStableStore(fs, joinPath(dir, dataDirLayout.stable), guard, isNew);
    opened.push(stable);
    const snapshots = await openSnapshotStore(
      fs,
      joinPath(dir, dataDirLayout.snapshots),
      guard,
      logger,
      {
        retain: options.retainSnapshots,
        chunkSize: options.snapshotChunkSize,
      },
    );
    opened.push(snapshots);
    const walDir = joinPath(dir, dataDirLayout.wal);
    const log = await openWal({
      fs,
      dir: walDir,
      guard,
      logger,
      create: isNew,
      options: {
        segmentSize: options.segmentSize,
        maxBatchBytes: options.maxBatchBytes,
        preallocateBytes: options.preallocateBytes,
      },
    });
    opened.push(log);
    if (isNew) {
      // Written last: a directory with a FORMAT file is complete.
      await writeFileAtomically(
        fs,
        joinPath(dir, dataDirLayout.format),
        Buffer.from(formatText),
        (p, kind, run) => guard.sync(p, kind, run),
      );
    }
    // By the file names, not the headers: a damaged newest snapshot is the engine's to work
    // around at start (it restores an older one), and reading its header here would fail.
    const newest = (await snapshots.list())[0]?.index ?? 0;
    if (log.compactedIndex > newest) {
      throw new WalCorruptionError(
        walDir,
        0,
        `the log starts after entry ${log.compactedIndex}, but the newest snapshot covers entries up to ` +
          `${newest} only: entries ${newest + 1} to ${log.compactedIndex} are missing`,
      );
    }
    return new DataDir(dir, { log, stable, snapshots }, guard, lock);
  } catch (error) {
    // Close what was opened (their own failures would only repeat this one) and let go of the
    // lock, then report the error that stopped the open.
    await Promise.allSettled(opened.map((store) => store.close()));
    try {
      await lock.release();
    } catch (releaseError) {
      if (error instanceof Error)
        Object.defineProperty(error, "releaseError", { value: releaseError });
    }
    throw error;
  }
}

/** Reads FORMAT: true if the directory is a data directory of this format, false if new. */
async function readFormat(fs: FileSystem, dir: string): Promise<boolean> {
  const file = joinPath(dir, dataDirLayout.format);
  let text: string;
  try {
    text = (await readWholeFile(fs, file)).toString("utf8");
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return false;
    throw error;
  }
  const [heading, versionLine] = text.split("\n");
  const version = /^format (\d+)$/.exec(versionLine ?? "")?.[1];
  const supported = `"${formatHeading}" format ${dataDirFormatVersion}`;
  if (heading !== formatHeading || version === undefined) {
    throw new UnsupportedFormatError(file, JSON.stringify(text.slice(0, 80)), supported);
  }
  if (Number(version) !== dataDirFormatVersion) {
    throw new UnsupportedFormatError(file, `format ${version}`, supported);
  }
  return true;
}

/**
 * A directory without FORMAT is new, or its creation was interrupted by a crash (FORMAT is written
 * last). Either way it holds no data: refuse anything else rather than take it over.
 */
async function checkPristine(fs: FileSystem, dir: string): Promise<void> {
  const file = joinPath(dir, dataDirLayout.format);
  const refuse = (found: string) =>
    new UnsupportedFormatError(
      file,
      found,
      `an empty directory, or a data directory of format ${dataDirFormatVersion}`,
    );
  const known = new Set(["wal", "snapshots", "stable", "stable.tmp", "FORMAT.tmp", "LOCK"]);
  const others = (await fs.readdir(dir)).filter(
    (name) => !known.has(name) && !name.startsWith("LOCK."),
  );
  if (others.length > 0) {
    throw refuse(
      `no FORMAT file, and other files in the directory (${others.slice(0, 5).join(", ")})`,
    );
  }
  const walDir = joinPath(dir, dataDirLayout.wal);
  if (await exists(fs, walDir)) {
    for (const name of await fs.readdir(walDir)) {
      const size = (await fs.stat(joinPath(walDir, name))).size;
      if (parseSegmentName(name) === undefined || size > segmentHeaderSize) {
        throw refuse(`no FORMAT file, but ${walDir} holds ${name} (${size} bytes)`);
      }
    }
  }
  const snapshotsDir = joinPath(dir, dataDirLayout.snapshots);
  if (await exists(fs, snapshotsDir)) {
    const snapshots = (await fs.readdir(snapshotsDir)).filter((name) => !name.endsWith(".tmp"));
    if (snapshots.length > 0)
      throw refuse(`no FORMAT file, but ${snapshotsDir} holds ${snapshots[0]}`);
  }
  const stablePath = joinPath(dir, dataDirLayout.stable);
  if (await exists(fs, stablePath)) {
    const state = decodeHardState(stablePath, await readWholeFile(fs, stablePath));
    if (state.term !== 0 || state.vote !== "") {
      throw refuse(`no FORMAT file, but ${stablePath} holds term ${state.term}`);
    }
  }
}
