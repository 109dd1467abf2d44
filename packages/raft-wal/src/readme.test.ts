import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEntry, EntryType } from "@raftstore/raft";
import { afterAll, describe, expect, it } from "vitest";
import { openDataDir } from "./index.js";
import { ManualClock, randomCrash, SimFileSystem } from "./testing/index.js";

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe("the README examples", () => {
  it("opens a data directory, persists state, snapshots and compacts", async () => {
    const root = await mkdtemp(join(tmpdir(), "raft-wal-readme-"));
    temporary.push(root);
    const path = join(root, "node");

    const dir = await openDataDir(path);

    // At start: what the node remembers.
    const { compactedIndex, entries } = await dir.log.load();
    const { term } = await dir.stable.load();

    // Persist before you speak: each promise resolves once what it wrote is durable.
    await dir.stable.save({ term: term + 1, vote: "n1" });
    const next = compactedIndex + entries.length + 1;
    const data = new TextEncoder().encode("hello");
    await dir.log.append([createEntry(next, term + 1, EntryType.Normal, data)]);

    // Snapshot the state machine, then let the log behind it go.
    const config = { voters: ["n1"], learners: [] };
    const sink = await dir.snapshots.create({ index: next, term: term + 1, config });
    await sink.write(new TextEncoder().encode("state machine bytes"));
    await sink.commit();
    await dir.log.compact(next);

    await dir.close();

    const reopened = await openDataDir(path);
    expect(await reopened.stable.load()).toEqual({ term: 1, vote: "n1" });
    expect((await reopened.log.load()).entries).toEqual([
      createEntry(1, 1, EntryType.Normal, data),
    ]);
    expect(await reopened.snapshots.latest()).toEqual({ index: 1, term: 1, config });
    await reopened.close();
  });

  it("runs on the simulated disk, through a crash", async () => {
    const disk = new SimFileSystem();
    const probe = (pid: number) => ({ pid, bootId: "sim", isAlive: () => false });
    const clock = new ManualClock();
    const node = await openDataDir("/n1", { fs: disk, process: probe(1), clock });
    await node.log.append([createEntry(1, 1, EntryType.Normal, new Uint8Array([1]))]);
    disk.crash();
    const afterCrash = disk.restart(randomCrash(7));
    const rebooted = await openDataDir("/n1", { fs: afterCrash, process: probe(2), clock });
    expect((await rebooted.log.load()).entries).toHaveLength(1);
    await rebooted.close();
  });
});
