import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createNodeFileSystem } from "./node-file-system.js";
import { SyncThread, SyncThreadUnavailableError } from "./sync-thread.js";

// A thread that is constructed but dies before it runs (a preload that refuses worker threads,
// a start-up failure): nothing it was asked to do was done, so the file system must carry on
// without it rather than fail every append.
const starts = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:worker_threads", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:worker_threads")>();
  const { EventEmitter } = await import("node:events");
  class WorkerThatDies extends EventEmitter {
    constructor() {
      super();
      starts.count++;
      setImmediate(() => {
        this.emit("error", new Error("preload refuses worker threads"));
        this.emit("exit", 1);
      });
    }
    ref() {}
    unref() {}
    terminate() {
      return Promise.resolve(1);
    }
  }
  return { ...original, Worker: WorkerThatDies };
});

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe("a sync thread that dies before it runs", () => {
  it("fails its calls as unavailable, not as a failed sync", async () => {
    const thread = new SyncThread();
    await thread.ready;
    const error = await thread.writeAndSync(1, new Uint8Array(1), 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncThreadUnavailableError);
    expect(thread.unavailable).toBe(true);
  });

  it("leaves the node file system writing through the thread pool, without trying again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "raft-wal-thread-start-"));
    temporary.push(dir);
    const fs = createNodeFileSystem();
    starts.count = 0;
    const a = await fs.open(join(dir, "a"), "createNew");
    await a.writeAndSync?.(new Uint8Array([1, 2, 3]), 0);
    const b = await fs.open(join(dir, "b"), "createNew");
    await b.writeAndSync?.(new Uint8Array([4]), 0);
    await Promise.all([a.close(), b.close()]);
    expect(starts.count).toBe(1);
    expect([...readFileSync(join(dir, "a"))]).toEqual([1, 2, 3]);
    expect([...readFileSync(join(dir, "b"))]).toEqual([4]);
  });
});
