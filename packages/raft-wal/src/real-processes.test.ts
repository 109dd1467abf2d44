import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDataDir } from "./data-dir.js";
import { isDataDirLockedError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { startChild } from "./test-support/child-process.js";
import { entry } from "./test-support/fixtures.js";
import { createRandom } from "./testing/random.js";

// Real files and real processes: what the simulated disk cannot show (the node:fs binding, the
// lock between processes, a process killed with SIGKILL in the middle of anything).

const directories: string[] = [];
async function freshDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "raft-wal-test-"));
  directories.push(dir);
  return join(dir, "node");
}

afterAll(async () => {
  for (const dir of directories) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("real processes on real files", () => {
  it("keeps every acknowledged entry of a process killed with SIGKILL at random moments", async () => {
    const path = await freshDirectory();
    const random = createRandom(0x5eed);
    let acknowledged = 0;
    for (let round = 0; round < 5; round++) {
      const child = startChild("append-forever.ts", [path]);
      const ready = await child.waitFor(/^ready (\d+)$/);
      expect(Number(ready[1])).toBeGreaterThanOrEqual(acknowledged);
      await child.waitFor(/^ack /);
      await sleep(20 + random.int(400));
      child.process.kill("SIGKILL");
      await child.exited;
      for (const line of child.lines) {
        const ack = /^ack (\d+)$/.exec(line);
        if (ack !== null) acknowledged = Math.max(acknowledged, Number(ack[1]));
      }

      // The killed child's lock is stale: this process reclaims it.
      const dir = await openDataDir(path, { logger: silentLogger });
      const { compactedIndex, entries } = await dir.log.load();
      const last = compactedIndex + entries.length;
      expect(last).toBeGreaterThanOrEqual(acknowledged);
      entries.forEach((e, i) => {
        expect(e).toEqual(entry(compactedIndex + 1 + i, 1, 64));
      });
      expect(compactedIndex).toBeLessThanOrEqual((await dir.snapshots.latest())?.index ?? 0);
      await dir.close();
    }
    expect(acknowledged).toBeGreaterThan(0);
  }, 60_000);

  it("refuses a second process at once, naming the holder, and reclaims the lock of a killed one", async () => {
    const path = await freshDirectory();
    const holder = startChild("hold-data-dir.ts", [path]);
    await holder.waitFor(/^ready$/);
    const error = await openDataDir(path, { logger: silentLogger }).catch((e: unknown) => e);
    expect(isDataDirLockedError(error) && error.pid).toBe(holder.pid);

    holder.process.kill("SIGKILL");
    await holder.exited;
    const dir = await openDataDir(path, { logger: silentLogger });
    const second = startChild("hold-data-dir.ts", [path]);
    const refused = await second.waitFor(/^error (\w+) (\d*)$/);
    expect([refused[1], Number(refused[2])]).toEqual(["DataDirLockedError", process.pid]);
    await second.exited;
    await dir.close();
  }, 30_000);
});
