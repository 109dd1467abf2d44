import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  closeAfter,
  type FileHandle,
  type FileStat,
  type FileSystem,
  hasErrorCode,
  type OpenMode,
  writeThenSync,
} from "./file-system.js";
import { SyncThread, SyncThreadUnavailableError } from "./sync-thread.js";

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

/** How long an idle thread outlives the last writable file (a new segment is opened soon after). */
const LINGER_MS = 1_000;
/** How long opening a file for writing waits, at most, for a thread that is starting. */
const START_WAIT_MS = 2_000;

/**
 * The one SyncThread of a file system. It starts when a file is opened for writing, so that its
 * start-up (tens of milliseconds) is not timed as part of the first sync, and stops a moment after
 * the last such file closes, so that an idle file system holds no thread. Where no thread can be
 * started (a thread limit, a worker that dies before it runs), the files fall back to
 * a write and an fdatasync in libuv's thread pool.
 */
class SyncThreadLease {
  #thread: SyncThread | undefined;
  #writers = 0;
  #linger: NodeJS.Timeout | undefined;
  /** Set once a thread could not be started: this file system uses the thread pool from then on. */
  #unavailable = false;

  /** A writable file was opened. */
  acquire(): void {
    this.#writers++;
    clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#thread !== undefined || this.#unavailable) return;
    try {
      this.#thread = new SyncThread();
    } catch {
      this.#unavailable = true;
    }
  }

  /**
   * Waits (a bounded while) for a thread that is starting, so that its start-up is not timed as
   * part of the first sync.
   */
  async started(): Promise<void> {
    const thread = this.#thread;
    if (thread === undefined || thread.running) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      // Not unref'd: while the open waits, this timer is what keeps the process alive.
      timer = setTimeout(resolve, START_WAIT_MS);
    });
    await Promise.race([thread.ready, bound]);
    clearTimeout(timer);
  }

  /** `thread` died before it ran: use the thread pool from now on. */
  unavailable(thread: SyncThread): void {
    this.#unavailable = true;
    if (this.#thread === thread) this.#thread = undefined;
  }

  /** A writable file was closed. */
  release(): void {
    this.#writers--;
    if (this.#writers > 0 || this.#thread === undefined) return;
    clearTimeout(this.#linger);
    this.#linger = setTimeout(() => {
      const thread = this.#thread;
      this.#thread = undefined;
      this.#linger = undefined;
      // stop() waits for the jobs already asked for; their failures went to their callers.
      void thread?.stop();
    }, LINGER_MS).unref();
  }

  /** The thread, while a writable file is open and the thread could be started. */
  get thread(): SyncThread | undefined {
    return this.#thread;
  }
}

class NodeFileHandle implements FileHandle {
  readonly #handle: fsp.FileHandle;
  readonly #lease: SyncThreadLease | undefined;
  /** The writeAndSync running on the sync thread, which uses this file's descriptor. */
  #pending: Promise<void> | undefined;
  /** Set when close() is first called: from then on, writeAndSync is refused. */
  #closed: Promise<void> | undefined;

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

  async writeAndSync(data: Uint8Array, position: number): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined || this.#closed !== undefined) throw notWritable();
    const thread = lease.thread;
    if (thread !== undefined) {
      const job = thread.writeAndSync(this.#handle.fd, data, position);
      this.#pending = job;
      try {
        await job;
        return;
      } catch (error) {
        // Anything but a thread that never ran is the disk's (or the thread's) failure.
        if (!(error instanceof SyncThreadUnavailableError)) throw error;
        lease.unavailable(thread);
      } finally {
        if (this.#pending === job) this.#pending = undefined;
      }
    }
    // No thread: libuv's thread pool, which FileHandle.close waits for by itself.
    await writeThenSync(this, data, position);
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

  /** Closes once; a second call answers with the first one's outcome. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    // The thread writes through this file's descriptor number: it must not be closed (and the
    // number reused for another file) while a job still uses it.
    await this.#pending?.catch(() => undefined);
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
      if (mode === "read") return new NodeFileHandle(handle);
      const file = new NodeFileHandle(handle, lease);
      await lease.started();
      return file;
    },
    async readdir(path) {
      return (await fsp.readdir(path)).sort();
    },
    async stat(path): Promise<FileStat> {
      const stats = await fsp.stat(path);
      return { size: stats.size, isDirectory: stats.isDirectory() };
    },
    mkdir: makeDirectory,
    rename: (from, to) => fsp.rename(from, to),
    link: (existing, newPath) => fsp.link(existing, newPath),
    unlink: (path) => fsp.unlink(path),
    async syncDirectory(path) {
      const handle = await fsp.open(path, constants.O_RDONLY);
      await closeAfter(new NodeFileHandle(handle), () => handle.sync());
    },
  };
}

/**
 * Creates `path` and its missing parents, one at a time from the top, and does nothing if it
 * exists. Not `fsp.mkdir`'s `recursive`: under a directory that refuses new entries with ENOENT
 * (procfs, sysfs), Node's recursive mkdir retries forever, so a node given such a `--data-dir`
 * spun without a word and could not even be stopped. Here the refusal is an error.
 */
async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    try {
      await fsp.stat(at);
      break;
    } catch (error) {
      if (!hasErrorCode(error, "ENOENT")) throw error;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const dir of missing.reverse()) {
    try {
      await fsp.mkdir(dir, 0o755);
    } catch (error) {
      // Made meanwhile by someone else: fine if it is a directory.
      if (!hasErrorCode(error, "EEXIST") || !(await fsp.stat(dir)).isDirectory()) throw error;
    }
  }
}
