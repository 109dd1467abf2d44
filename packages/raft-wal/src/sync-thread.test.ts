import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { writeAndSync } from "./file-system.js";
import { createNodeFileSystem } from "./node-file-system.js";
import { failureFromSharedMemory, SyncThread } from "./sync-thread.js";
import { startChild } from "./test-support/child-process.js";

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

async function freshFile(): Promise<{ path: string; fd: number }> {
  const dir = await mkdtemp(join(tmpdir(), "raft-wal-sync-thread-"));
  temporary.push(dir);
  const path = join(dir, "file");
  return { path, fd: openSync(path, "w+") };
}

/** Bytes that differ at every position, so a misplaced or reordered chunk shows. */
function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return promise.then(
    () => ({ resolved: true }),
    (error: Error & { code?: string; syscall?: string }) => ({
      name: error.name,
      code: error.code,
      syscall: error.syscall,
      message: error.message,
    }),
  );
}

describe("SyncThread", () => {
  it("writes every byte at its position, in the order the calls were made, whatever their size", async () => {
    const { path, fd } = await freshFile();
    const thread = new SyncThread();
    const small = pattern(300, 1);
    // Larger than the staging buffer's first size (it grows) and than its bound (it is split).
    const grown = pattern(200 * 1024, 2);
    const split = pattern(2.5 * 1024 * 1024 + 17, 3);
    const overwrite = pattern(10, 4);
    const calls = [
      thread.writeAndSync(fd, small, 0),
      thread.writeAndSync(fd, grown, small.length),
      thread.writeAndSync(fd, split, small.length + grown.length),
      // Same place as the first write: it must land after it.
      thread.writeAndSync(fd, overwrite, 5),
      thread.writeAndSync(fd, new Uint8Array(0), 0),
    ];
    await Promise.all(calls);
    const expected = Buffer.concat([small, grown, split]);
    expected.set(overwrite, 5);
    expect(Buffer.compare(readFileSync(path), expected)).toBe(0);
    await thread.stop();
    closeSync(fd);
  });

  it("rejects with the system call's error, naming the call that failed, and goes on working", async () => {
    const { path, fd } = await freshFile();
    const thread = new SyncThread();
    const readOnly = openSync(path, "r");
    expect(await rejection(thread.writeAndSync(readOnly, pattern(8, 0), 0))).toMatchObject({
      code: "EBADF",
      syscall: "write",
    });
    const closed = openSync(path, "r");
    closeSync(closed);
    expect(await rejection(thread.writeAndSync(closed, pattern(8, 0), 0))).toMatchObject({
      code: "EBADF",
      syscall: "write",
    });
    await thread.writeAndSync(fd, pattern(8, 5), 0);
    expect([...readFileSync(path)]).toEqual([...pattern(8, 5)]);
    closeSync(readOnly);
    await thread.stop();
    closeSync(fd);
  });

  it("still names the error and the call when the thread's message does not arrive", async () => {
    const thread = new SyncThread();
    const devNull = openSync("/dev/null", "r+");
    const readOnly = openSync("/dev/null", "r");
    thread.loseMessages();
    const failures = [
      await rejection(thread.writeAndSync(readOnly, pattern(8, 0), 0)),
      await rejection(thread.writeAndSync(devNull, pattern(8, 0), 0)),
    ];
    expect(failures).toEqual([
      expect.objectContaining({
        code: "EBADF",
        syscall: "write",
        message: "EBADF: bad file descriptor, write",
      }),
      expect.objectContaining({
        code: "EINVAL",
        syscall: "fdatasync",
        message: "EINVAL: invalid argument, fdatasync",
      }),
    ]);
    await thread.stop();
    closeSync(devNull);
    closeSync(readOnly);
  });

  it("waits for the thread's answer through a wake-up that is not one (a late notify)", async () => {
    // The thread stores a job's outcome, then notifies. When the event loop saw the outcome
    // first and went on to the next job, the late notify wakes that job's wait early.
    const { path, fd } = await freshFile();
    const thread = new SyncThread();
    await thread.ready;
    const data = pattern(256 * 1024, 6);
    for (let i = 0; i < 10; i++) {
      const job = thread.writeAndSync(fd, data, i * data.length);
      thread.wakeSpuriously();
      await job;
    }
    expect(readFileSync(path).length).toBe(10 * data.length);
    await thread.stop();
    closeSync(fd);
  });

  it("says so when a lost error had no errno, instead of guessing one", () => {
    expect(failureFromSharedMemory(0, 1)).toEqual({
      message: "the sync thread's fdatasync failed, and its error did not reach the event loop",
      syscall: "fdatasync",
    });
    expect(failureFromSharedMemory(-28, 0)).toMatchObject({ code: "ENOSPC", syscall: "write" });
  });

  it("syncs after it writes: /dev/null takes every write and refuses the fdatasync", async () => {
    const thread = new SyncThread();
    const fd = openSync("/dev/null", "r+");
    for (const size of [8, 2.5 * 1024 * 1024]) {
      expect(await rejection(thread.writeAndSync(fd, new Uint8Array(size), 0))).toMatchObject({
        code: "EINVAL",
        syscall: "fdatasync",
      });
    }
    await thread.stop();
    closeSync(fd);
  });

  it("lets the calls made before stop() finish", async () => {
    const { path, fd } = await freshFile();
    const thread = new SyncThread();
    const data = pattern(3 * 1024 * 1024, 6);
    const job = thread.writeAndSync(fd, data, 0);
    await thread.stop();
    expect(await rejection(job)).toEqual({ resolved: true });
    expect(Buffer.compare(readFileSync(path), data)).toBe(0);
    closeSync(fd);
  });

  it("keeps the process alive while a call waits, and not while it is idle", async () => {
    const { path } = await freshFile();
    const waiting = startChild("sync-thread-child.ts", [path, "waiting"]);
    await waiting.exited;
    expect(waiting.lines).toEqual(["resolved"]);
    const idle = startChild("sync-thread-child.ts", [path, "idle"]);
    await idle.exited;
    expect(idle.lines).toEqual(["idle"]);
  }, 30_000);

  it("fails the waiting call and every later one when the thread dies, instead of hanging", async () => {
    const { fd } = await freshFile();
    const thread = new SyncThread();
    await thread.writeAndSync(fd, pattern(8, 0), 0);
    const crashed = thread.crash();
    const waiting = thread.writeAndSync(fd, pattern(8, 0), 8);
    await crashed;
    expect(await rejection(waiting)).toMatchObject({ message: expect.stringMatching(/exited/) });
    expect(await rejection(thread.writeAndSync(fd, pattern(8, 0), 16))).toMatchObject({
      message: expect.stringMatching(/exited/),
    });
    await thread.stop();
    expect(await rejection(thread.writeAndSync(fd, pattern(8, 0), 16))).toMatchObject({
      message: expect.stringMatching(/stopped/),
    });
    closeSync(fd);
  });
});

describe("the node file system's writeAndSync", () => {
  async function freshDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "raft-wal-sync-thread-"));
    temporary.push(dir);
    return dir;
  }

  it("writes through one thread per file system, and refuses a file opened for reading", async () => {
    const dir = await freshDir();
    const fs = createNodeFileSystem();
    const a = await fs.open(join(dir, "a"), "createNew");
    const b = await fs.open(join(dir, "b"), "createNew");
    await Promise.all([
      a.writeAndSync?.(pattern(100, 1), 0),
      b.writeAndSync?.(pattern(100, 2), 0),
      a.writeAndSync?.(pattern(100, 3), 100),
    ]);
    const reader = await fs.open(join(dir, "a"), "read");
    expect(await rejection(writeAndSync(reader, pattern(1, 0), 0))).toMatchObject({
      code: "EBADF",
      syscall: "write",
    });
    await Promise.all([a.close(), b.close(), reader.close()]);
    expect([...readFileSync(join(dir, "a"))]).toEqual([...pattern(100, 1), ...pattern(100, 3)]);
    expect([...readFileSync(join(dir, "b"))]).toEqual([...pattern(100, 2)]);
  });

  it("stops the thread a moment after the last writable file closed, unless another opens", async () => {
    const dir = await freshDir();
    const fs = createNodeFileSystem();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const stops = vi.spyOn(SyncThread.prototype, "stop");
    const calls = vi.spyOn(SyncThread.prototype, "writeAndSync");
    try {
      const a = await fs.open(join(dir, "a"), "createNew");
      const b = await fs.open(join(dir, "b"), "createNew");
      await a.writeAndSync?.(pattern(10, 1), 0);
      await a.close();
      // Closing twice must not count twice: b still holds the thread.
      await a.close().catch(() => undefined);
      vi.advanceTimersByTime(5_000);
      expect(stops).not.toHaveBeenCalled();
      await b.close();
      // A new segment opened right after the old one closed keeps the same thread.
      vi.advanceTimersByTime(500);
      const c = await fs.open(join(dir, "c"), "createNew");
      vi.advanceTimersByTime(5_000);
      expect(stops).not.toHaveBeenCalled();
      await c.writeAndSync?.(pattern(10, 3), 0);
      await c.close();
      vi.advanceTimersByTime(999);
      expect(stops).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(stops).toHaveBeenCalledTimes(1);
      // The next writer starts a new thread, which works as the first did.
      const d = await fs.open(join(dir, "a"), "readWrite");
      await d.writeAndSync?.(pattern(5, 5), 10);
      await d.close();
      // One thread for a and c (c opened while it lingered), a new one for d.
      const [first, second, third] = calls.mock.contexts;
      expect(second).toBe(first);
      expect(third).not.toBe(first);
      expect([...readFileSync(join(dir, "a"))]).toEqual([...pattern(10, 1), ...pattern(5, 5)]);
      expect([...readFileSync(join(dir, "c"))]).toEqual([...pattern(10, 3)]);
    } finally {
      vi.advanceTimersByTime(1_000);
      stops.mockRestore();
      calls.mockRestore();
      vi.useRealTimers();
    }
  });

  it("refuses a writeAndSync once close() began, so it cannot land in a reused descriptor", async () => {
    const dir = await freshDir();
    const fs = createNodeFileSystem();
    const file = await fs.open(join(dir, "f"), "createNew");
    const closing = file.close();
    expect(await rejection(writeAndSync(file, pattern(4, 1), 0))).toMatchObject({
      code: "EBADF",
    });
    await closing;
  });

  it("closes a file only after the thread is done with its descriptor", async () => {
    const dir = await freshDir();
    const fs = createNodeFileSystem();
    const file = await fs.open(join(dir, "big"), "createNew");
    const data = pattern(8 * 1024 * 1024 + 3, 9);
    // Closed at once: without the wait, the thread would write to a closed (or reused) fd.
    const [written] = await Promise.all([rejection(writeAndSync(file, data, 0)), file.close()]);
    expect(written).toEqual({ resolved: true });
    expect(Buffer.compare(readFileSync(join(dir, "big")), data)).toBe(0);
  });
});
