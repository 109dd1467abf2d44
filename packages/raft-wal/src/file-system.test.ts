import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type FileSystem, hasErrorCode, readWholeFile } from "./file-system.js";
import { createNodeFileSystem } from "./node-file-system.js";
import { SimFileSystem } from "./testing/sim-file-system.js";

// The stores rely on exactly what FileSystem promises; the simulated disk must keep the same
// promises as the real one, or the crash tests would prove nothing. The same cases run on both.

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

const implementations: [string, () => Promise<{ fs: FileSystem; root: string }>][] = [
  [
    "node:fs",
    async () => {
      const root = await mkdtemp(join(tmpdir(), "raft-wal-fs-"));
      temporary.push(root);
      return { fs: createNodeFileSystem(), root };
    },
  ],
  ["the simulated disk", async () => ({ fs: new SimFileSystem(), root: "/root" })],
];

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error as { code?: string }).code,
  );
}

describe.each(implementations)("the file system over %s", (_, setup) => {
  it("writes at positions, reads back, truncates and reports sizes", async () => {
    const { fs, root } = await setup();
    await fs.mkdir(`${root}/a/b`);
    const handle = await fs.open(`${root}/a/b/file`, "createNew");
    await handle.write(new Uint8Array([1, 2, 3]), 0);
    await handle.write(new Uint8Array([9]), 5);
    await handle.datasync();
    expect(await handle.size()).toBe(6);
    const buffer = new Uint8Array(10);
    expect(await handle.read(buffer, 0)).toBe(6);
    expect([...buffer.subarray(0, 6)]).toEqual([1, 2, 3, 0, 0, 9]);
    expect(await handle.read(buffer, 6)).toBe(0);
    await handle.truncate(2);
    expect(await handle.size()).toBe(2);
    await handle.close();
    expect([...(await readWholeFile(fs, `${root}/a/b/file`))]).toEqual([1, 2]);
    expect(await fs.stat(`${root}/a`)).toEqual({ size: expect.any(Number), isDirectory: true });
  });

  it("opens by mode: existing files only, create-or-empty, and exclusive create", async () => {
    const { fs, root } = await setup();
    await fs.mkdir(root);
    expect(await code(fs.open(`${root}/missing`, "read"))).toBe("ENOENT");
    expect(await code(fs.open(`${root}/missing`, "readWrite"))).toBe("ENOENT");
    const created = await fs.open(`${root}/f`, "createNew");
    await created.write(new Uint8Array([1, 2]), 0);
    await created.close();
    expect(await code(fs.open(`${root}/f`, "createNew"))).toBe("EEXIST");
    const emptied = await fs.open(`${root}/f`, "create");
    expect(await emptied.size()).toBe(0);
    await emptied.close();
    const readOnly = await fs.open(`${root}/f`, "read");
    expect(await code(readOnly.write(new Uint8Array([1]), 0))).toBe("EBADF");
    await readOnly.close();
  });

  it("renames over a file, links exclusively, unlinks, and lists sorted names", async () => {
    const { fs, root } = await setup();
    await fs.mkdir(root);
    for (const name of ["c", "a", "b"])
      await (await fs.open(`${root}/${name}`, "createNew")).close();
    expect(await fs.readdir(root)).toEqual(["a", "b", "c"]);
    await fs.rename(`${root}/a`, `${root}/b`);
    expect(await fs.readdir(root)).toEqual(["b", "c"]);
    expect(await code(fs.link(`${root}/b`, `${root}/c`))).toBe("EEXIST");
    await fs.link(`${root}/b`, `${root}/d`);
    await fs.unlink(`${root}/b`);
    expect(await fs.readdir(root)).toEqual(["c", "d"]);
    expect(await code(fs.unlink(`${root}/b`))).toBe("ENOENT");
    expect(await code(fs.rename(`${root}/b`, `${root}/e`))).toBe("ENOENT");
    await fs.syncDirectory(root);
    expect(hasErrorCode(await fs.stat(`${root}/b`).catch((e: unknown) => e), "ENOENT")).toBe(true);
  });

  it("makes a directory and its missing parents, does nothing for one that exists, and refuses under a file", async () => {
    const { fs, root } = await setup();
    await fs.mkdir(`${root}/a/b/c`);
    await fs.mkdir(`${root}/a/b/c`);
    await fs.mkdir(`${root}/a`);
    expect(await fs.readdir(`${root}/a/b`)).toEqual(["c"]);
    expect((await fs.stat(`${root}/a/b/c`)).isDirectory).toBe(true);
    await (await fs.open(`${root}/f`, "createNew")).close();
    expect(await code(fs.mkdir(`${root}/f/g`))).toMatch(/^(ENOTDIR|EEXIST)$/);
  });
});

describe("the node file system", () => {
  it.runIf(existsSync("/proc/self"))(
    "refuses a directory under /proc at once (Node's recursive mkdir loops forever there)",
    async () => {
      const refused = await createNodeFileSystem()
        .mkdir("/proc/raftstore-test/data")
        .catch((e: unknown) => e);
      expect(hasErrorCode(refused, "ENOENT")).toBe(true);
    },
  );
});
