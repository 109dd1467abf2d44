import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createNodeFileSystem } from "./node-file-system.js";
import { SyncThread } from "./sync-thread.js";

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
  it("writes through the sync thread, refuses a file opened for reading, and lets the thread go when no file is open for writing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "raft-wal-sync-thread-"));
    temporary.push(dir);
    const fs = createNodeFileSystem();
    const stops = vi.spyOn(SyncThread.prototype, "stop");
    const a = await fs.open(join(dir, "a"), "createNew");
    const b = await fs.open(join(dir, "b"), "createNew");
    await Promise.all([
      a.writeAndSync(pattern(100, 1), 0),
      b.writeAndSync(pattern(100, 2), 0),
      a.writeAndSync(pattern(100, 3), 100),
    ]);
    await a.close();
    // b still holds the thread.
    expect(stops).not.toHaveBeenCalled();
    await b.writeAndSync(pattern(10, 4), 100);
    await b.close();
    expect(stops).toHaveBeenCalledTimes(1);
    const reader = await fs.open(join(dir, "a"), "read");
    expect(await rejection(reader.writeAndSync(pattern(1, 0), 0))).toMatchObject({
      code: "EBADF",
      syscall: "write",
    });
    await reader.close();
    // Every writer closed: the next writer starts a new thread and it works as the first did.
    const c = await fs.open(join(dir, "a"), "readWrite");
    await c.writeAndSync(pattern(5, 5), 200);
    await c.close();
    expect(stops).toHaveBeenCalledTimes(2);
    stops.mockRestore();
    expect([...readFileSync(join(dir, "a"))]).toEqual([
      ...pattern(100, 1),
      ...pattern(100, 3),
      ...pattern(5, 5),
    ]);
    expect([...readFileSync(join(dir, "b"))]).toEqual([...pattern(100, 2), ...pattern(10, 4)]);
  });
});
