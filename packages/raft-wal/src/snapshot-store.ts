import {
  type SnapshotIdentity,
  type SnapshotMeta,
  type SnapshotSource,
  type SnapshotStore,
  sameSnapshot,
} from "@raftstore/raft";
import { SnapshotCorruptionError, StoreClosedError } from "./errors.js";
import {
  closeOnFailure,
  type FileHandle,
  type FileSystem,
  hasErrorCode,
  joinPath,
  readExactly,
  ShortReadError,
} from "./file-system.js";
import type { Logger } from "./logger.js";
import { createNodeFileSystem } from "./node-file-system.js";
import {
  decodeSnapshotHeader,
  decodeTrailer,
  expectedFileSize,
  parseSnapshotName,
  type SnapshotHeader,
  type SnapshotTrailer,
  snapshotHeaderLength,
  snapshotName,
  trailerSize,
} from "./snapshot-format.js";
import { FileSnapshotSink } from "./snapshot-sink.js";
import { FileSnapshotSource } from "./snapshot-source.js";
import type { SyncGuard } from "./sync-guard.js";

/** How snapshots are kept. */
export interface SnapshotStoreOptions {
  /** How many complete snapshots to keep (the newest ones). At least 1; default 2. */
  readonly retain?: number;
  /**
   * The size of the checksummed chunks a snapshot is stored (and read back) in. Default 256 KiB.
   */
  readonly chunkSize?: number;
}

const defaultRetain = 2;
const defaultChunkSize = 256 * 1024;
/** A configuration larger than this in a header is damage, not a cluster. */
const maxHeaderBytes = 16 * 1024 * 1024;

/**
 * Snapshots in a directory, one file each (README.md, "On-disk format"). A snapshot is written
 * under a temporary name and becomes visible only by an atomic rename once it is complete and
 * synced, so a partial snapshot is never seen; temporary files a crash left are removed at open.
 * The newest `retain` snapshots are kept.
 */
export class FileSnapshotStore implements SnapshotStore {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #guard: SyncGuard;
  readonly #logger: Logger;
  readonly #retain: number;
  readonly #chunkSize: number;
  #temporaries = 0;
  #closed = false;
  /** Orders renames and pruning, so that concurrent commits never prune each other's file. */
  #publishing: Promise<void> = Promise.resolve();

  /** @internal Use openSnapshotStore (or openDataDir). */
  constructor(
    fs: FileSystem,
    dir: string,
    guard: SyncGuard,
    logger: Logger,
    options: SnapshotStoreOptions = {},
  ) {
    const retain = options.retain ?? defaultRetain;
    const chunkSize = options.chunkSize ?? defaultChunkSize;
    if (!Number.isSafeInteger(retain) || retain < 1) {
      throw new RangeError(`expected retain to be an integer of at least 1, found ${retain}`);
    }
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > 0x7fff_0000) {
      throw new RangeError(`expected chunkSize from 1 to ${0x7fff_0000} bytes, found ${chunkSize}`);
    }
    this.#fs = fs;
    this.#dir = dir;
    this.#guard = guard;
    this.#logger = logger;
    this.#retain = retain;
    this.#chunkSize = chunkSize;
  }

  async create(meta: SnapshotMeta): Promise<FileSnapshotSink> {
    this.#check("create a snapshot");
    checkMeta(meta);
    const finalPath = joinPath(this.#dir, snapshotName(meta));
    const temporaryPath = `${finalPath}.${this.#temporaries++}.tmp`;
    const handle = await this.#fs.open(temporaryPath, "createNew");
    return new FileSnapshotSink({
      fs: this.#fs,
      guard: this.#guard,
      handle,
      meta,
      chunkSize: this.#chunkSize,
      temporaryPath,
      finalPath,
      publish: (run) => this.#publish(run),
    });
  }

  async latest(): Promise<SnapshotMeta | undefined> {
    this.#check("find the latest snapshot");
    const newest = (await this.#list())[0];
    if (newest === undefined) return undefined;
    const source = await this.#openFile(newest.path);
    await source.close();
    return source.meta;
  }

  async open(meta?: SnapshotIdentity): Promise<SnapshotSource | undefined> {
    this.#check("open a snapshot");
    const listed = await this.#list();
    const wanted = meta === undefined ? listed[0] : listed.find((s) => sameSnapshot(s, meta));
    if (wanted === undefined) return undefined;
    return this.#openFile(wanted.path);
  }

  /** The complete snapshots on disk, newest first (by index, then term), as named. */
  async list(): Promise<{ index: number; term: number; path: string }[]> {
    this.#check("list snapshots");
    return this.#list();
  }

  /**
   * Renames a damaged snapshot to `<name>.broken`, which no listing matches, and makes the
   * rename durable; the file stays for inspection, and its removal is left to an operator.
   */
  async setAside(snapshot: SnapshotIdentity): Promise<void> {
    this.#check("set a snapshot aside");
    const found = (await this.#list()).find((s) => sameSnapshot(s, snapshot));
    if (found === undefined) return;
    await this.#publish(async () => {
      await this.#fs.rename(found.path, `${found.path}.broken`);
      await this.#guard.sync(this.#dir, "fsync-directory", () => this.#fs.syncDirectory(this.#dir));
      this.#logger.info({ file: `${found.path}.broken` }, "renamed a damaged snapshot");
    });
  }

  /** Stops taking calls. Sinks and sources already handed out stay usable until closed. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#publishing;
    this.#guard.check();
  }

  #check(operation: string): void {
    if (this.#closed) throw new StoreClosedError("the snapshot store", operation);
    this.#guard.check();
  }

  async #list(): Promise<{ index: number; term: number; path: string }[]> {
    const snapshots = [];
    for (const name of await this.#fs.readdir(this.#dir)) {
      const parsed = parseSnapshotName(name);
      if (parsed !== undefined) snapshots.push({ ...parsed, path: joinPath(this.#dir, name) });
    }
    return snapshots.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** Runs a rename-and-prune step of a commit, one at a time; then prunes old snapshots. */
  #publish(run: () => Promise<void>): Promise<void> {
    const result = this.#publishing.then(async () => {
      await run();
      await this.#prune();
    });
    // The chain only orders the steps; each outcome, failure included, goes to its commit.
    this.#publishing = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async #prune(): Promise<void> {
    const old = (await this.#list()).slice(this.#retain);
    if (old.length === 0) return;
    for (const snapshot of old) {
      await this.#fs.unlink(snapshot.path);
      this.#logger.info({ file: snapshot.path }, "removed an old snapshot");
    }
    await this.#guard.sync(this.#dir, "fsync-directory", () => this.#fs.syncDirectory(this.#dir));
  }

  #openFile(path: string): Promise<FileSnapshotSource> {
    return openSnapshotFile(path, this.#fs);
  }
}

/**
 * Opens one snapshot file of a data directory's `snapshots/` for reading, outside any store: to
 * check it, or to look into it (`raftstore snapshot inspect`). Its header, trailer and size are
 * verified now (SnapshotCorruptionError), every chunk as it is read. Close the source after.
 */
export async function openSnapshotFile(
  path: string,
  fs: FileSystem = createNodeFileSystem(),
): Promise<FileSnapshotSource> {
  const handle = await fs.open(path, "read");
  const verified = await closeOnFailure(handle, () => verifyFile(handle, path));
  return new FileSnapshotSource(handle, path, verified.header, verified.trailer);
}

/** Reads and checks a snapshot's header and trailer, and that its size adds up. */
async function verifyFile(
  handle: FileHandle,
  path: string,
): Promise<{ header: SnapshotHeader; trailer: SnapshotTrailer }> {
  const fileSize = await handle.size();
  const damaged = (offset: number, problem: string) =>
    new SnapshotCorruptionError(path, offset, problem);
  try {
    const headerLength = snapshotHeaderLength(
      await readExactly(handle, path, 0, Math.min(36, fileSize)),
    );
    if (typeof headerLength === "string") throw damaged(0, headerLength);
    if (headerLength > Math.min(fileSize, maxHeaderBytes)) {
      throw damaged(
        0,
        `the header declares ${headerLength} bytes, more than the file's ${fileSize}`,
      );
    }
    const header = decodeSnapshotHeader(await readExactly(handle, path, 0, headerLength));
    if (typeof header === "string") throw damaged(0, header);
    const name = parseSnapshotName(path.slice(path.lastIndexOf("/") + 1));
    if (
      name !== undefined &&
      (name.index !== header.meta.index || name.term !== header.meta.term)
    ) {
      throw damaged(
        0,
        `the file name says index ${name.index} term ${name.term}, the header says index ` +
          `${header.meta.index} term ${header.meta.term}`,
      );
    }
    if (fileSize < headerLength + trailerSize) {
      throw damaged(headerLength, "the file ends before its trailer: the snapshot is incomplete");
    }
    const trailerOffset = fileSize - trailerSize;
    const trailer = decodeTrailer(await readExactly(handle, path, trailerOffset, trailerSize));
    if (typeof trailer === "string") throw damaged(trailerOffset, trailer);
    const chunks = Math.ceil(trailer.size / header.chunkSize);
    if (trailer.chunks !== chunks || expectedFileSize(header, trailer) !== fileSize) {
      throw damaged(
        trailerOffset,
        `expected a file of ${expectedFileSize(header, { ...trailer, chunks })} bytes for ` +
          `${trailer.size} bytes of contents in ${chunks} chunks, found ${fileSize} bytes and ${trailer.chunks} chunks`,
      );
    }
    return { header, trailer };
  } catch (error) {
    if (error instanceof ShortReadError) throw damaged(0, error.message);
    throw error;
  }
}

function checkMeta(meta: SnapshotMeta): void {
  const ids = (value: unknown) =>
    Array.isArray(value) && value.every((id) => typeof id === "string");
  if (
    !Number.isSafeInteger(meta.index) ||
    meta.index < 0 ||
    !Number.isSafeInteger(meta.term) ||
    meta.term < 0
  ) {
    throw new RangeError(
      `expected a non-negative integer index and term, found ${meta.index} and ${meta.term}`,
    );
  }
  if (!ids(meta.config?.voters) || !ids(meta.config?.learners)) {
    throw new RangeError("expected config.voters and config.learners to be arrays of node ids");
  }
}

/**
 * Opens the snapshot store in `dir` (which must exist), removing the temporary files of
 * snapshots a crash interrupted.
 */
export async function openSnapshotStore(
  fs: FileSystem,
  dir: string,
  guard: SyncGuard,
  logger: Logger,
  options?: SnapshotStoreOptions,
): Promise<FileSnapshotStore> {
  const store = new FileSnapshotStore(fs, dir, guard, logger, options);
  for (const name of await fs.readdir(dir)) {
    if (!name.endsWith(".tmp")) continue;
    try {
      await fs.unlink(joinPath(dir, name));
    } catch (error) {
      if (!hasErrorCode(error, "ENOENT")) throw error;
    }
    logger.warn({ file: joinPath(dir, name) }, "removed a snapshot a crash left unfinished");
  }
  return store;
}
