import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import {
  closeAfter,
  type FileHandle,
  type FileStat,
  type FileSystem,
  type OpenMode,
} from "./file-system.js";
import { SyncThread } from "./sync-thread.js";

// The real file system, over node:fs/promises. Every call, fdatasync included, runs off the event
// loop, so a slow disk delays the store's promises but never blocks the event loop (and with it
// heartbeats and timers). Most calls run in libuv's thread pool; `writeAndSync`, the log's append,
// runs on the file system's own SyncThread (sync-thread.ts), in one trip instead of two.

const flags: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readWrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
  createNew: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
};

/**
 * The one SyncThread of a file system, started on the first writeAndSync and stopped when the
 * last writable file closes, so that an idle file system holds no thread.
 */
class SyncThreadLease {
  #thread: SyncThread | undefined;
  #writers = 0;

  /** A writable file was opened. */
  acquire(): void {
    this.#writers++;
  }

  /** A writable file was closed. */
  release(): void {
    this.#writers--;
    if (this.#writers > 0 || this.#thread === undefined) return;
    const thread = this.#thread;
    this.#thread = undefined;
    // stop() waits for the jobs already asked for; a job's failure was already reported to it.
    void thread.stop();
  }

  get thread(): SyncThread {
    this.#thread ??= new SyncThread();
    return this.#thread;
  }
}

class NodeFileHandle implements FileHandle {
  readonly #handle: fsp.FileHandle;
  readonly #lease: SyncThreadLease | undefined;

  /** `lease` is the file system's sync thread when the file is open for writing. */
  constructor(handle: fsp.FileHandle, lease?: SyncThreadLease) {
    this.#handle = handle;
    this.#lease = lease;
    lease?.acquire();
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

  writeAndSync(data: Uint8Array, position: number): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined) return Promise.reject(notWritable());
    return lease.thread.writeAndSync(this.#handle.fd, data, position);
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

  async close(): Promise<void> {
    try {
      await this.#handle.close();
    } finally {
      this.#lease?.release();
    }
  }
}

/** What write(2) on a file opened read-only fails with. */
function notWritable(): Error {
  return Object.assign(new Error("EBADF: bad file descriptor, write"), {
    code: "EBADF",
    syscall: "write",
  });
}

/** The file system of the machine, through node:fs/promises. */
export function createNodeFileSystem(): FileSystem {
  const lease = new SyncThreadLease();
  return {
    async open(path, mode) {
      const handle = await fsp.open(path, flags[mode], 0o644);
      return new NodeFileHandle(handle, mode === "read" ? undefined : lease);
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
