import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DEFAULT_CHUNK_BYTES } from "./format.js";

/** Options of `readSnapshotFile`. */
export interface ReadSnapshotFileOptions {
  /** The size of the chunks read. Default 64 KiB. */
  chunkBytes?: number;
}

/**
 * The bytes of a file, as chunks for `decodeSnapshot` or `inspectSnapshot`. The file is opened
 * when the iteration starts and closed when it ends, however it ends; errors of the file
 * system (ENOENT, EACCES, EISDIR…) reject the iteration unchanged.
 */
export async function* readSnapshotFile(
  path: string,
  options: ReadSnapshotFileOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const stream = createReadStream(path, {
    highWaterMark: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
  });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    stream.destroy();
  }
}

/** Options of `writeSnapshotFile`. */
export interface WriteSnapshotFileOptions {
  /** The new file's permissions. Default 0o600: a snapshot holds every resource of a store. */
  mode?: number;
  /** Aborts the write between chunks; the file is then left as it was. */
  signal?: AbortSignal;
  /**
   * Checks the complete, durable temporary file before it replaces `path` (for example by
   * reading it back with `inspectSnapshot`); if it throws, `path` is left as it was.
   */
  verify?: (temporaryPath: string) => Promise<void>;
}

/**
 * Writes chunks (from `encodeSnapshot`) to a file atomically and durably: into a temporary
 * file next to it, fsync, `verify` if given, rename over `path`, fsync the directory. Readers of `path` see the
 * old file or the complete new one, never a part, also across a crash. If anything fails (the
 * chunks' source, the disk, an abort), the temporary file is removed, `path` is untouched and
 * the error is passed on; should removing the temporary file fail too, an AggregateError
 * carries both errors, the original first.
 *
 * Resolves with the number of bytes written.
 */
export async function writeSnapshotFile(
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: WriteSnapshotFileOptions = {},
): Promise<number> {
  const { signal } = options;
  signal?.throwIfAborted();
  // A random suffix, and exclusive creation: two writers of the same path never share a file.
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(temporary, "wx", options.mode ?? 0o600);
  let written = 0;
  let closed = false;
  try {
    for await (const chunk of chunks) {
      signal?.throwIfAborted();
      written += await writeAll(file, chunk);
    }
    signal?.throwIfAborted();
    await file.sync();
    closed = true;
    await file.close();
    await options.verify?.(temporary);
    await rename(temporary, path);
  } catch (error) {
    try {
      if (!closed) await file.close();
      await unlink(temporary);
    } catch (cleanupError) {
      throw new AggregateError(
        [error, cleanupError],
        `writing the snapshot ${path} failed, and removing its temporary file ${temporary} failed too`,
      );
    }
    throw error;
  }
  await syncDirectory(dirname(path));
  return written;
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<number> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
  return chunk.byteLength;
}

/** Makes a rename in `directory` durable. Windows cannot open a directory; it needs no sync. */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
