import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import {
  closeAfter,
  type FileHandle,
  type FileStat,
  type FileSystem,
  type OpenMode,
} from "./file-system.js";

// The real file system, over node:fs/promises. Every call, fdatasync included, runs in libuv's
// thread pool, so a slow disk delays the store's promises but never blocks the event loop (and
// with it heartbeats and timers).

const flags: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readWrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
  createNew: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
};

class NodeFileHandle implements FileHandle {
  readonly #handle: fsp.FileHandle;

  constructor(handle: fsp.FileHandle) {
    this.#handle = handle;
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    const { bytesRead } = await this.#handle.read(buffer, 0, buffer.byteLength, position);
    return bytesRead;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    // write(2) may write less than asked (a signal, a full disk on the last block); keep going
    // until everything is written or the call fails.
    while (done < data.byteLength) {
      const { bytesWritten } = await this.#handle.write(
        data,
        done,
        data.byteLength - done,
        position + done,
      );
      done += bytesWritten;
    }
  }

  truncate(size: number): Promise<void> {
    return this.#handle.truncate(size);
  }

  datasync(): Promise<void> {
    return this.#handle.datasync();
  }

  async size(): Promise<number> {
    return (await this.#handle.stat()).size;
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}

/** The file system of the machine, through node:fs/promises. */
export function createNodeFileSystem(): FileSystem {
  return {
    async open(path, mode) {
      return new NodeFileHandle(await fsp.open(path, flags[mode], 0o644));
    },
    async readdir(path) {
      return (await fsp.readdir(path)).sort();
    },
    async stat(path): Promise<FileStat> {
      const stats = await fsp.stat(path);
      return { size: stats.size, isDirectory: stats.isDirectory() };
    },
    async mkdir(path) {
      await fsp.mkdir(path, { recursive: true, mode: 0o755 });
    },
    rename: (from, to) => fsp.rename(from, to),
    link: (existing, newPath) => fsp.link(existing, newPath),
    unlink: (path) => fsp.unlink(path),
    async syncDirectory(path) {
      const handle = await fsp.open(path, constants.O_RDONLY);
      await closeAfter(new NodeFileHandle(handle), () => handle.sync());
    },
  };
}
