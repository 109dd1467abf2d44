import { describe, expect, it } from "vitest";
import { isStableStateCorruptionError, isStoreClosedError } from "./errors.js";
import { openStableStore } from "./stable-store.js";
import { newGuard } from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";

const path = "/data/stable";

async function newStore(fs: SimFileSystem) {
  await fs.mkdir("/data");
  return openStableStore(fs, path, newGuard(), true);
}

describe("the hard state store", () => {
  it("starts a new node at term 0 with no vote", async () => {
    const store = await newStore(new SimFileSystem());
    expect(await store.load()).toEqual({ term: 0, vote: "" });
  });

  it("reads back the last saved state after a restart", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    await store.save({ term: 3, vote: "n2" });
    await store.save({ term: 4, vote: "nœud-é" });
    const reopened = await openStableStore(fs.restart(keepUnsynced), path, newGuard());
    expect(await reopened.load()).toEqual({ term: 4, vote: "nœud-é" });
  });

  it("runs saves and loads in call order", async () => {
    const store = await newStore(new SimFileSystem());
    const [, first, , second] = await Promise.all([
      store.save({ term: 1, vote: "a" }),
      store.load(),
      store.save({ term: 2, vote: "" }),
      store.load(),
    ]);
    expect([first, second]).toEqual([
      { term: 1, vote: "a" },
      { term: 2, vote: "" },
    ]);
  });

  it("refuses a missing, truncated or damaged file with StableStateCorruptionError", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    await store.save({ term: 9, vote: "n1" });
    const bytes = fs.contents(path) as Uint8Array;

    const cases: [string, (disk: SimFileSystem) => void][] = [
      ["the file is missing", (disk) => disk.forget(path)],
      ["expected 24 bytes", (disk) => disk.overwrite(path, bytes.subarray(0, bytes.length - 1))],
      ["expected at least 22 bytes", (disk) => disk.overwrite(path, bytes.subarray(0, 10))],
      [
        "checksum mismatch",
        (disk) =>
          disk.overwrite(
            path,
            Uint8Array.from(bytes, (b, i) => (i === 9 ? b ^ 4 : b)),
          ),
      ],
    ];
    for (const [problem, damage] of cases) {
      const disk = fs.restart(keepUnsynced);
      damage(disk);
      const error = await openStableStore(disk, path, newGuard()).catch((e: unknown) => e);
      expect(isStableStateCorruptionError(error) && error.file).toBe(path);
      expect((error as Error).message).toContain(problem);
    }
  });

  it("removes a temporary file a crash left behind and keeps the saved state", async () => {
    const fs = new SimFileSystem();
    const store = await newStore(fs);
    await store.save({ term: 2, vote: "b" });
    const disk = fs.restart(keepUnsynced);
    const handle = await disk.open(`${path}.tmp`, "create");
    await handle.write(new Uint8Array([1, 2, 3]), 0);
    await handle.close();
    const reopened = await openStableStore(disk, path, newGuard());
    expect(await reopened.load()).toEqual({ term: 2, vote: "b" });
    expect(disk.list("/data")).toEqual(["stable"]);
  });

  it("refuses a term that is not a non-negative integer, and calls after close", async () => {
    const store = await newStore(new SimFileSystem());
    await expect(store.save({ term: -1, vote: "" })).rejects.toThrow(RangeError);
    await expect(store.save({ term: 1.5, vote: "" })).rejects.toThrow(RangeError);
    await store.close();
    expect(isStoreClosedError(await store.load().catch((e: unknown) => e))).toBe(true);
  });
});
