import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { openDataDir } from "./data-dir.js";
import { silentLogger } from "./logger.js";
import { createNodeFileSystem } from "./node-file-system.js";
import { entries } from "./test-support/fixtures.js";

// Where no worker thread can be made (a thread limit, say), the node file system must still write
// and sync, through libuv's thread pool.
vi.mock("./sync-thread.js", () => ({
  SyncThread: class {
    constructor() {
      throw Object.assign(new Error("Resource temporarily unavailable"), { code: "EAGAIN" });
    }
  },
}));

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe("the node file system without a sync thread", () => {
  it("writes and syncs through the thread pool instead, and the log works as before", async () => {
    const dir = await mkdtemp(join(tmpdir(), "raft-wal-fallback-"));
    temporary.push(dir);
    const fs = createNodeFileSystem();
    const file = await fs.open(join(dir, "file"), "createNew");
    await file.writeAndSync?.(new Uint8Array([1, 2, 3]), 0);
    await file.close();
    expect([...readFileSync(join(dir, "file"))]).toEqual([1, 2, 3]);

    // A failed sync is still a failure: /dev/null takes the write and refuses the fdatasync.
    const devNull = await fs.open("/dev/null", "readWrite");
    const refused = await devNull.writeAndSync?.(new Uint8Array(8), 0).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "EINVAL", syscall: "fdatasync" });
    await devNull.close();

    const data = await openDataDir(join(dir, "node"), { logger: silentLogger });
    await data.log.append(entries(1, 5));
    await data.close();
    const reopened = await openDataDir(join(dir, "node"), { logger: silentLogger });
    expect((await reopened.log.load()).entries).toEqual(entries(1, 5));
    await reopened.close();
  });
});
