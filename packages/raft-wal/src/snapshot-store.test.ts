import type { SnapshotMeta, SnapshotSource } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import { isStoreClosedError } from "./errors.js";
import { openSnapshotStore, type SnapshotStoreOptions } from "./snapshot-store.js";
import { newGuard, payload, recordingLogger } from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";

const dir = "/data/snapshots";

function meta(index: number, term = 1): SnapshotMeta {
  return { index, term, config: { voters: ["n1", "n2", "n3"], learners: ["n4"] } };
}

async function newStore(fs: SimFileSystem, options: SnapshotStoreOptions = { chunkSize: 16 }) {
  await fs.mkdir(dir);
  return openSnapshotStore(fs, dir, newGuard(), recordingLogger(), options);
}

async function save(
  store: Awaited<ReturnType<typeof newStore>>,
  m: SnapshotMeta,
  contents: Uint8Array,
) {
  const sink = await store.create(m);
  // Odd-sized writes, so that chunk boundaries fall inside them.
  for (let i = 0; i < contents.length; i += 7) await sink.write(contents.subarray(i, i + 7));
  return sink.commit();
}

async function readAll(source: SnapshotSource, offset?: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source.read(offset)) parts.push(chunk);
  return Buffer.concat(parts);
}

describe("the snapshot store", () => {
  it("stores a snapshot with its metadata and reads it back, from the start or any offset", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    const contents = payload(1, 100);
    expect(await save(store, meta(10, 2), contents)).toBe(100);

    const reopened = await newStore(fs.restart(keepUnsynced));
    expect(await reopened.latest()).toEqual(meta(10, 2));
    const source = (await reopened.open()) as SnapshotSource;
    expect(source.size).toBe(100);
    expect(source.meta).toEqual(meta(10, 2));
    expect(await readAll(source)).toEqual(Buffer.from(contents));
    for (const offset of [0, 1, 15, 16, 17, 99, 100]) {
      expect(await readAll(source, offset)).toEqual(Buffer.from(contents.subarray(offset)));
    }
    await source.close();
  });

  it("reads a snapshot in the chunks it is stored in", async () => {
    const store = await newStore(new SimFileSystem());
    await save(store, meta(1), payload(2, 40));
    const source = (await store.open()) as SnapshotSource;
    const sizes: number[] = [];
    for await (const chunk of source.read(5)) sizes.push(chunk.length);
    expect(sizes).toEqual([11, 16, 8]);
    await source.close();
  });

  it("shows nothing of a snapshot until it is committed", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    const sink = await store.create(meta(5));
    await sink.write(payload(1, 50));
    expect(await store.latest()).toBeUndefined();
    expect(await store.open(meta(5))).toBeUndefined();
    await sink.commit();
    expect(await store.latest()).toEqual(meta(5));
  });

  it("discards an aborted snapshot, and does nothing when aborting a committed one", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    const aborted = await store.create(meta(5));
    await aborted.write(payload(1, 50));
    await aborted.abort();
    await aborted.abort();
    expect(fs.list(dir)).toEqual([]);
    expect(isStoreClosedError(await aborted.write(payload(1, 1)).catch((e: unknown) => e))).toBe(
      true,
    );

    const committed = await store.create(meta(6));
    await committed.commit();
    await committed.abort();
    expect(await store.latest()).toEqual(meta(6));
  });

  it("keeps the newest snapshots only, two by default", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    for (const index of [3, 9, 6, 12]) await save(store, meta(index), payload(index, 20));
    expect((await store.list()).map((s) => s.index)).toEqual([12, 9]);

    const keepThree = await newStore(new SimFileSystem(), { retain: 3, chunkSize: 16 });
    for (const index of [1, 2, 3, 4, 5]) await save(keepThree, meta(index), payload(index, 20));
    expect((await keepThree.list()).map((s) => s.index)).toEqual([5, 4, 3]);
  });

  it("opens an older snapshot by its metadata, and nothing for an unknown one", async () => {
    const store = await newStore(new SimFileSystem());
    await save(store, meta(3), payload(3, 30));
    await save(store, meta(7), payload(7, 30));
    const older = (await store.open(meta(3))) as SnapshotSource;
    expect(await readAll(older)).toEqual(Buffer.from(payload(3, 30)));
    await older.close();
    expect(await store.open(meta(4))).toBeUndefined();
  });

  it("sets a damaged snapshot aside durably, keeping its bytes under another name", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    await save(store, meta(3), payload(3, 30));
    await save(store, meta(7), payload(7, 30));
    await store.setAside({ index: 7, term: 1 });
    await store.setAside({ index: 8, term: 1 });
    expect((await store.list()).map((s) => s.index)).toEqual([3]);
    expect(await store.open({ index: 7, term: 1 })).toBeUndefined();

    const disk = fs.restart(keepUnsynced);
    expect(disk.list(dir)).toEqual([
      "0000000000000003-0000000000000001.snap",
      "0000000000000007-0000000000000001.snap.broken",
    ]);
    const reopened = await newStore(disk);
    expect((await reopened.latest())?.index).toBe(3);
    // A later snapshot's pruning leaves the damaged file alone: an operator removes it.
    for (const index of [9, 10, 11]) await save(reopened, meta(index), payload(index, 20));
    expect(disk.list(dir)).toContain("0000000000000007-0000000000000001.snap.broken");
  });

  it("stores an empty snapshot", async () => {
    const store = await newStore(new SimFileSystem());
    expect(await save(store, meta(1), new Uint8Array(0))).toBe(0);
    const source = (await store.open()) as SnapshotSource;
    expect(await readAll(source)).toEqual(Buffer.alloc(0));
    await source.close();
  });

  it("removes the temporary files of interrupted snapshots at open", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    const sink = await store.create(meta(4));
    await sink.write(payload(1, 30));
    const disk = fs.restart(keepUnsynced);
    expect(disk.list(dir)).toEqual(["0000000000000004-0000000000000001.snap.0.tmp"]);
    const reopened = await newStore(disk);
    expect(disk.list(dir)).toEqual([]);
    expect(await reopened.latest()).toBeUndefined();
  });

  it("refuses an offset past the end and calls after close", async () => {
    const store = await newStore(new SimFileSystem());
    await save(store, meta(1), payload(1, 10));
    const source = (await store.open()) as SnapshotSource;
    expect(() => source.read(11)).toThrow(RangeError);
    await source.close();
    await store.close();
    expect(isStoreClosedError(await store.latest().catch((e: unknown) => e))).toBe(true);
    expect(isStoreClosedError(await store.create(meta(2)).catch((e: unknown) => e))).toBe(true);
  });
});
