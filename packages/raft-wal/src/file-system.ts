// Every byte the stores read or write goes through this interface, so that the same code runs
// on real files (createNodeFileSystem) and on the simulated disk of the tests
// (@raftstore/raft-wal/testing), which can crash between any two calls, lose what was not synced,
// tear the last sector, fail a sync, or hold a sync until a virtual clock says it is done.
//
// The interface is deliberately small and states its durability rules, because the stores rely
// on exactly these and nothing more:
// - `write` lands in a cache: it survives a process crash, not a power loss;
// - `FileHandle.datasync` (fdatasync) makes the file's contents and size durable;
// - a directory entry (a created, renamed, linked or removed file; a new directory) is durable
//   only once `syncDirectory` of its parent returned;
// - `rename` replaces its target atomically.

/**
 * How to open a file:
 * - "read": an existing file, for reading;
 * - "readWrite": an existing file, for reading and writing;
 * - "create": create the file or empty an existing one, for reading and writing;
 * - "createNew": create a file that must not exist yet (EEXIST otherwise).
 */
export type OpenMode = "read" | "readWrite" | "create" | "createNew";

/** What `stat` tells. */
export interface FileStat {
  readonly size: number;
  readonly isDirectory: boolean;
}

/** An open file. Positions are absolute byte offsets; there is no file cursor. */
export interface FileHandle {
  /** Reads up to `buffer.length` bytes at `position`; resolves with how many were read. */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position` (extending the file if needed). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Cuts (or zero-extends) the file to `size` bytes. */
  truncate(size: number): Promise<void>;
  /** fdatasync: the contents and size are durable once this resolves. */
  datasync(): Promise<void>;
  /**
   * Optional: `write` and then `datasync` as one call, so that an implementation can do both in
   * one trip off the event loop. A failure rejects with the failed step's error, whose `syscall`
   * is "write" when the write failed. Without it, the stores call `write`, then `datasync`.
   */
  writeAndSync?(data: Uint8Array, position: number): Promise<void>;
  /** The current size in bytes. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The file system the stores use. Failures reject with errors that carry Node's `code`
 * ("ENOENT", "EEXIST", "EIO", …), as node:fs does.
 */
export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** The names in a directory, sorted. */
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<FileStat>;
  /** Creates a directory and any missing parents; does nothing if it exists. */
  mkdir(path: string): Promise<void>;
  /** Renames a file within its directory, atomically replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Adds a second name for a file; fails with EEXIST if `newPath` exists (atomically). */
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: its entries (created, renamed, removed files) become durable. */
  syncDirectory(path: string): Promise<void>;
}

/** Writes `data` at `position`, then fdatasyncs: in one call where the handle offers it. */
export async function writeAndSync(
  handle: FileHandle,
  data: Uint8Array,
  position: number,
): Promise<void> {
  if (handle.writeAndSync !== undefined) return handle.writeAndSync(data, position);
  return writeThenSync(handle, data, position);
}

/** Writes `data` at `position`, then fdatasyncs: two calls, the second after the first. */
export async function writeThenSync(
  handle: FileHandle,
  data: Uint8Array,
  position: number,
): Promise<void> {
  await handle.write(data, position);
  await handle.datasync();
}

/** Whether `error` is a file-system error with the given code ("ENOENT", "EEXIST", …). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}

/**
 * Runs `run` on an open file and closes the file if `run` fails. When closing fails too, the error
 * of `run` is thrown, with the error of closing attached as its `closeError` property: neither is
 * lost, and the first keeps its name (and with it its guard).
 */
export async function closeOnFailure<T>(handle: FileHandle, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    try {
      await handle.close();
    } catch (closeError) {
      if (error instanceof Error) Object.defineProperty(error, "closeError", { value: closeError });
    }
    throw error;
  }
}

/** Runs `run` on an open file, then closes it (see closeOnFailure for a failing `run`). */
export async function closeAfter<T>(handle: FileHandle, run: () => Promise<T>): Promise<T> {
  const result = await closeOnFailure(handle, run);
  await handle.close();
  return result;
}

/** Reads a whole file. */
export async function readWholeFile(fs: FileSystem, path: string): Promise<Buffer> {
  const handle = await fs.open(path, "read");
  return closeAfter(handle, () => readAll(handle, path));
}

/** Reads all of an open file. */
export async function readAll(handle: FileHandle, path: string): Promise<Buffer> {
  const size = await handle.size();
  return readExactly(handle, path, 0, size);
}

/** Reads exactly `length` bytes at `position`; a short file is an error naming the file. */
export async function readExactly(
  handle: FileHandle,
  path: string,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const n = await handle.read(buffer.subarray(done), position + done);
    if (n === 0) {
      throw new ShortReadError(path, position, length, done);
    }
    done += n;
  }
  return buffer;
}

/**
 * A file ended before the bytes its structure promised. Internal: the stores turn it into the
 * corruption error of the file's kind.
 */
export class ShortReadError extends Error {
  override readonly name = "ShortReadError";
  constructor(path: string, position: number, length: number, got: number) {
    super(`${path}: expected ${length} bytes at offset ${position}, the file ends after ${got}`);
  }
}

/** Whether a path exists. */
export async function exists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return false;
    throw error;
  }
}

/** Writes a small file atomically: a temporary file, synced, renamed over `path`. */
export async function writeFileAtomically(
  fs: FileSystem,
  path: string,
  contents: Uint8Array,
  sync: (
    path: string,
    kind: "fdatasync" | "fsync-directory",
    run: () => Promise<void>,
  ) => Promise<void>,
): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await fs.open(temporary, "create");
  await closeAfter(handle, async () => {
    await handle.write(contents, 0);
    await sync(temporary, "fdatasync", () => handle.datasync());
  });
  await fs.rename(temporary, path);
  const directory = parentOf(path);
  await sync(directory, "fsync-directory", () => fs.syncDirectory(directory));
}

/** The directory part of a path ("/a/b/c" → "/a/b", "c" → "."). */
export function parentOf(path: string): string {
  const cut = path.lastIndexOf("/");
  if (cut < 0) return ".";
  return cut === 0 ? "/" : path.slice(0, cut);
}

/** Joins path segments with "/". */
export function joinPath(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}
