import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ReadConsistency } from "@raftstore/proto";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeConfig } from "./config.js";
import { startTestCluster, type TestCluster } from "./test-support/cluster.js";

// A damaged snapshot file in a node's data directory, found at start: the node rebuilds its
// state from an older snapshot and its log when the log continues one (the damaged file is
// renamed *.broken). (When the log continues none, the node refuses to start and changes
// nothing: the engine's startup tests cover that, since a log this small is never compacted.)

const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
const tenancy = { partition: "default", namespace: "default" };

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Snapshots every 20 entries, none held back or staggered; `trailingEntries` as given. */
async function clusterWithSnapshots(trailingEntries: number): Promise<TestCluster> {
  cluster = await startTestCluster({
    flags: {
      snapshotThreshold: "20",
      snapshotJitter: "0",
      snapshotIntervalMs: "0",
      trailingEntries: String(trailingEntries),
    },
  });
  return cluster;
}

const snapshotsDir = (config: NodeConfig) => join(config.dataDir, "snapshots");

/** Writes resources `from` to `to` - 1 through the leader, one after another. */
async function writeResources(c: TestCluster, from: number, to: number): Promise<void> {
  const leader = await c.leader();
  for (let i = from; i < to; i++) {
    await c.client(leader).write({ resource: { id: { name: `r${i}`, type, tenancy } } });
  }
}

/** Waits until node `i` took at least two snapshots, and returns their files, newest first. */
async function twoSnapshots(c: TestCluster, i: number): Promise<string[]> {
  const dir = snapshotsDir(c.configs[i] as NodeConfig);
  for (let attempt = 0; ; attempt++) {
    const files = (await readdir(dir))
      .filter((f) => f.endsWith(".snap"))
      .sort()
      .reverse();
    if (files.length >= 2) return files.map((f) => join(dir, f));
    if (attempt > 200) throw new Error(`node ${i} has ${files.length} snapshots`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Flips four bytes of `file` at `at` (by default in the middle, inside its contents). */
async function damage(file: string, at?: number): Promise<void> {
  const { size } = await stat(file);
  const handle = await open(file, "r+");
  try {
    await handle.write(new Uint8Array([0xff, 0x00, 0xff, 0x00]), 0, 4, at ?? Math.floor(size / 2));
  } finally {
    await handle.close();
  }
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; !(await condition()); attempt++) {
    if (attempt > 200) throw new Error("the condition did not come true in 5 s");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function eventualCount(c: TestCluster, i: number): Promise<number> {
  const list = await c.client(i).list({ type, tenancy, consistency: ReadConsistency.EVENTUAL });
  return list.resources.length;
}

/**
 * A cluster with 70 resources, and a follower stopped once it took two snapshots; their files,
 * newest first.
 */
async function stoppedFollower(trailingEntries: number) {
  const c = await clusterWithSnapshots(trailingEntries);
  await writeResources(c, 0, 70);
  const follower = ((await c.leader()) + 1) % 3;
  await twoSnapshots(c, follower);
  await c.stop(follower);
  return { c, follower, files: await twoSnapshots(c, follower) };
}

describe("a damaged snapshot at start", () => {
  it.each([
    ["its contents", undefined],
    ["its header", 12],
  ])(
    "rebuilds the state from the older snapshot and the log, and sets the damaged one aside (%s)",
    async (_, at) => {
      const {
        c,
        follower,
        files: [newest],
      } = await stoppedFollower(1000);
      await damage(newest as string, at);

      await c.start(follower);
      const files = await readdir(snapshotsDir(c.configs[follower] as NodeConfig));
      expect(files).toContain(`${(newest as string).split("/").at(-1)}.broken`);
      // The log replays what the damaged snapshot held, and the node follows the cluster on.
      await writeResources(c, 70, 71);
      await until(async () => (await eventualCount(c, follower)) === 71);
    },
  );

  it("rebuilds the state from the whole log when every snapshot is damaged and the log starts at 1", async () => {
    // The log is compacted by whole segments, and one segment holds all of this one.
    const { c, follower, files } = await stoppedFollower(0);
    for (const file of files) await damage(file);

    await c.start(follower);
    const names = await readdir(snapshotsDir(c.configs[follower] as NodeConfig));
    expect(names.filter((name) => name.endsWith(".snap.broken"))).toHaveLength(2);
    await writeResources(c, 70, 71);
    await until(async () => (await eventualCount(c, follower)) === 71);
  });
});
