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

  it("keeps a prefix of unsynced writes, and may tear the next one, zero-filling its sector", async () => {
    const fs = new SimFileSystem();
    const handle = await fs.open("/f", "createNew");
    await fs.syncDirectory("/");
    await handle.write(new Uint8Array(10).fill(1), 0);
    await handle.write(new Uint8Array(700).fill(2), 10);
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const contents = fs.restart(randomCrash(seed)).contents("/f") as Uint8Array;
      const ones = contents.findIndex((b) => b !== 1);
      const twos = contents.subarray(10).findIndex((b) => b !== 2);
      // What survives is ones, then twos, then at most zeros up to the end of a 512-byte sector.
      expect(ones === -1 || ones === 10 || contents.subarray(ones).every((b) => b === 0)).toBe(
        true,
      );
      if (twos >= 0) expect(contents.subarray(10 + twos).every((b) => b === 0)).toBe(true);
      outcomes.add(
        contents.length === 0 ? "nothing" : contents.length === 710 ? "everything" : "torn",
      );
    }
    expect([...outcomes].sort()).toEqual(["everything", "nothing", "torn"]);
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
