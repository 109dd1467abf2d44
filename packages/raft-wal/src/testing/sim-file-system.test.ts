import { describe, expect, it } from "vitest";
import { settle } from "../test-support/fixtures.js";
import { keepUnsynced, loseUnsynced, randomCrash } from "./crash-policy.js";
import { SimFileSystem } from "./sim-file-system.js";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("the simulated disk's crash model", () => {
  it("keeps synced bytes and loses unsynced ones", async () => {
    const fs = new SimFileSystem();
    const handle = await fs.open("/f", "createNew");
    await fs.syncDirectory("/");
    await handle.write(bytes(1, 2), 0);
    await handle.datasync();
    await handle.write(bytes(3, 4), 2);
    expect(fs.restart(loseUnsynced).contents("/f")).toEqual(bytes(1, 2));
    expect(fs.restart(keepUnsynced).contents("/f")).toEqual(bytes(1, 2, 3, 4));
  });

  it("keeps a new, renamed or removed name only once its directory is synced", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/d");
    await fs.syncDirectory("/");
    const handle = await fs.open("/d/new", "createNew");
    await handle.write(bytes(7), 0);
    await handle.datasync();
    expect(fs.restart(loseUnsynced).list("/d")).toEqual([]);
    await fs.syncDirectory("/d");
    await fs.rename("/d/new", "/d/renamed");
    expect(fs.restart(loseUnsynced).list("/d")).toEqual(["new"]);
    expect(fs.restart(keepUnsynced).list("/d")).toEqual(["renamed"]);
    await fs.syncDirectory("/d");
    await fs.unlink("/d/renamed");
    expect(fs.restart(loseUnsynced).contents("/d/renamed")).toEqual(bytes(7));
  });

  it("loses a new directory whose parent was not synced, with everything in it", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/a/b");
    const handle = await fs.open("/a/b/f", "createNew");
    await handle.datasync();
    await fs.syncDirectory("/a/b");
    expect(fs.restart(loseUnsynced).list("/")).toEqual([]);
    await fs.syncDirectory("/");
    await fs.syncDirectory("/a");
    expect(fs.restart(loseUnsynced).list("/a/b")).toEqual(["f"]);
  });

  it("keeps a prefix of unsynced writes, and may tear the next one (a prefix, zero-filling its sector) or scatter it (whole sectors)", async () => {
    const fs = new SimFileSystem();
    const handle = await fs.open("/f", "createNew");
    await fs.syncDirectory("/");
    await handle.write(new Uint8Array(10).fill(1), 0);
    await handle.write(new Uint8Array(1500).fill(2), 10);
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 300; seed++) {
      const contents = fs.restart(randomCrash(seed)).contents("/f") as Uint8Array;
      // Every byte is the first write's, the second's, or a zero where a part never arrived.
      const foreign = contents.findIndex((b, p) => b !== 0 && b !== (p < 10 ? 1 : 2));
      expect(foreign).toBe(-1);
      const firstZero = contents.indexOf(0);
      const zeroThenData = firstZero >= 0 && contents.subarray(firstZero).some((b) => b !== 0);
      if (zeroThenData) {
        // Scattered: whole 512-byte sectors of one write each arrived or did not.
        let wholeSectors = true;
        for (let sector = 0; sector < contents.length; sector += 512) {
          const part = contents.subarray(Math.max(sector, 10), sector + 512);
          wholeSectors &&= part.every((b) => b === 0) || part.every((b) => b === 2);
        }
        expect(wholeSectors).toBe(true);
      }
      outcomes.add(
        contents.length === 0
          ? "nothing"
          : contents.length === 1510 && firstZero === -1
            ? "everything"
            : zeroThenData
              ? "scattered"
              : "torn",
      );
    }
    expect([...outcomes].sort()).toEqual(["everything", "nothing", "scattered", "torn"]);
  });

  it("crashes at a chosen call: that call and every later one never settle", async () => {
    const fs = new SimFileSystem({ crashAt: 2 });
    const settled: string[] = [];
    await fs.mkdir("/d");
    const handle = await fs.open("/d/f", "createNew");
    void handle.write(bytes(1), 0).then(() => settled.push("write"));
    void fs.readdir("/d").then(() => settled.push("readdir"));
    await settle();
    expect(settled).toEqual([]);
    expect(fs.crashed).toBe(true);
    expect(fs.calls).toBe(4);
  });

  it("completes a call when its delay says so, and fails it when told to", async () => {
    let release = () => {};
    const fs = new SimFileSystem({
      delay: (o) =>
        o.kind === "datasync" ? new Promise<void>((resolve) => (release = resolve)) : undefined,
      inject: (o) =>
        o.kind === "truncate" ? Object.assign(new Error("EIO"), { code: "EIO" }) : undefined,
    });
    const handle = await fs.open("/f", "createNew");
    await handle.write(bytes(5), 0);
    let synced = false;
    const sync = handle.datasync().then(() => (synced = true));
    await settle();
    expect(synced).toBe(false);
    expect(fs.restart(loseUnsynced).list("/")).toEqual([]);
    release();
    await sync;
    await expect(handle.truncate(0)).rejects.toMatchObject({ code: "EIO" });
    expect(fs.contents("/f")).toEqual(bytes(5));
  });
});
