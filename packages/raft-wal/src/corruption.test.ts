import { isSnapshotDamage, type SnapshotSource } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import {
  isSnapshotCorruptionError,
  isStableStateCorruptionError,
  isWalCorruptionError,
} from "./errors.js";
import { openSnapshotStore } from "./snapshot-store.js";
import { openStableStore } from "./stable-store.js";
import {
  entries,
  newGuard,
  openTestWal,
  payload,
  recordingLogger,
} from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";
import { openWal } from "./wal.js";

// Damage that is not a crash artefact must be detected, wherever it falls. Each test takes a
// small store, then for every byte of every file flips that byte (all bits) and each of its bits
// in turn, and opens and reads the store again: every single flip must be reported as the store's
// corruption error, at open or at read. None may be returned as data.

const masks = [0xff, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80];

function* flips(
  fs: SimFileSystem,
  path: string,
): Generator<{ disk: SimFileSystem; where: string }> {
  const original = fs.contents(path) as Uint8Array;
  for (let offset = 0; offset < original.length; offset++) {
    for (const mask of masks) {
      const disk = fs.restart(keepUnsynced);
      const damaged = original.slice();
      damaged[offset] = (damaged[offset] as number) ^ mask;
      disk.overwrite(path, damaged);
      yield { disk, where: `${path} byte ${offset} ^ 0x${mask.toString(16)}` };
    }
  }
}

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    (value) => ({ accepted: value }),
    (error: unknown) => error,
  );
}

describe("corruption", () => {
  it("detects every flipped byte and bit of the log, at open or at read", async () => {
    const fs = new SimFileSystem();
    // Without preallocation, every byte of the files is the log's (zeros ahead of the next
    // record are the next test's).
    const wal = await openTestWal(fs, { segmentSize: 160, preallocateBytes: 0 });
    // Three segments: entries 1-2, 3-4, 5, each with a few bytes of data.
    for (const batch of [entries(1, 2, 1, 12), entries(3, 4, 2, 9), entries(5, 5, 2, 30)]) {
      await wal.append(batch);
    }
    await wal.close();
    const base = fs.restart(keepUnsynced);
    const files = base.list("/wal").map((name) => `/wal/${name}`);
    expect(files).toHaveLength(3);

    let cases = 0;
    for (const path of files) {
      for (const { disk, where } of flips(base, path)) {
        cases++;
        const result = await outcome(async () => {
          const reopened = await openWal({
            fs: disk,
            dir: "/wal",
            guard: newGuard(),
            logger: recordingLogger(),
          });
          return reopened.load();
        });
        if (!isWalCorruptionError(result)) {
          throw new Error(`${where}: expected a WalCorruptionError, got ${JSON.stringify(result)}`);
        }
      }
    }
    expect(cases).toBeGreaterThan(3000);
  });

  it("detects every flipped byte and bit of the hard state file", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/data");
    const store = await openStableStore(fs, "/data/stable", newGuard(), true);
    await store.save({ term: 12, vote: "node-7" });
    const base = fs.restart(keepUnsynced);
    for (const { disk, where } of flips(base, "/data/stable")) {
      const result = await outcome(async () =>
        (await openStableStore(disk, "/data/stable", newGuard())).load(),
      );
      if (!isStableStateCorruptionError(result)) {
        throw new Error(
          `${where}: expected a StableStateCorruptionError, got ${JSON.stringify(result)}`,
        );
      }
    }
  });

  it("detects every flipped byte and bit of a snapshot, and hands out only intact chunks", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/snapshots");
    const store = await openSnapshotStore(fs, "/snapshots", newGuard(), recordingLogger(), {
      chunkSize: 16,
    });
    const contents = payload(3, 40);
    const sink = await store.create({
      index: 7,
      term: 2,
      config: { voters: ["a", "b"], learners: [] },
    });
    await sink.write(contents);
    await sink.commit();
    const base = fs.restart(keepUnsynced);
    const [name] = base.list("/snapshots") as [string];

    for (const { disk, where } of flips(base, `/snapshots/${name}`)) {
      const handedOut: Uint8Array[] = [];
      const result = await outcome(async () => {
        const reopened = await openSnapshotStore(disk, "/snapshots", newGuard(), recordingLogger());
        const source = (await reopened.open()) as SnapshotSource;
        try {
          for await (const chunk of source.read()) handedOut.push(chunk);
        } finally {
          await source.close();
        }
      });
      // The engine must know it for damage too, to start from an older snapshot instead.
      if (!isSnapshotCorruptionError(result) || !isSnapshotDamage(result)) {
        throw new Error(
          `${where}: expected a SnapshotCorruptionError, got ${JSON.stringify(result)}`,
        );
      }
      const prefix = Buffer.concat(handedOut);
      expect(prefix.equals(Buffer.from(contents.subarray(0, prefix.length)))).toBe(true);
    }
  });
});
