import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeSnapshot } from "./decode.js";
import { encodeSnapshot } from "./encode.js";
import { readSnapshotFile, writeSnapshotFile } from "./file.js";
import { collect, sampleResources } from "./test-support/resources.js";

const header = { index: 5n, term: 1n, createdAt: new Date(0) };
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-snapshot-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("snapshot files", () => {
  it("read back what was written, and report its size", async () => {
    const path = join(dir, "state.snap");
    const resources = [...sampleResources(500)];
    const written = await writeSnapshotFile(path, encodeSnapshot(header, resources));
    expect(written).toBe((await stat(path)).size);
    expect(await collect(decodeSnapshot(readSnapshotFile(path, { chunkBytes: 1000 })))).toEqual(
      resources,
    );
  });

  it("are readable by their owner only", async () => {
    const path = join(dir, "state.snap");
    await writeSnapshotFile(path, encodeSnapshot(header, []));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("replace an existing file whole, leaving no temporary file behind", async () => {
    const path = join(dir, "state.snap");
    await writeSnapshotFile(path, encodeSnapshot(header, sampleResources(2)));
    await writeSnapshotFile(path, encodeSnapshot({ ...header, index: 6n }, sampleResources(3)));
    expect(await readdir(dir)).toEqual(["state.snap"]);
    const reader = decodeSnapshot(readSnapshotFile(path));
    expect(await collect(reader)).toHaveLength(3);
    expect((await reader.header).index).toBe(6n);
  });

  it("stay as they were when writing fails, and the failure is passed on unchanged", async () => {
    const path = join(dir, "state.snap");
    await writeFile(path, "the previous snapshot");
    const failure = new Error("the store went away");
    async function* failing() {
      yield* sampleResources(400);
      throw failure;
    }
    await expect(writeSnapshotFile(path, encodeSnapshot(header, failing()))).rejects.toBe(failure);
    expect(await readFile(path, "utf8")).toBe("the previous snapshot");
    expect(await readdir(dir)).toEqual(["state.snap"]);
  });

  it("replace the file only once verify accepts the complete temporary file", async () => {
    const path = join(dir, "state.snap");
    await writeFile(path, "the previous snapshot");
    const seen: number[] = [];
    const refusal = new Error("not restorable");
    const refuse = async (temporary: string) => {
      seen.push((await collect(decodeSnapshot(readSnapshotFile(temporary)))).length);
      throw refusal;
    };
    await expect(
      writeSnapshotFile(path, encodeSnapshot(header, sampleResources(2)), { verify: refuse }),
    ).rejects.toBe(refusal);
    expect(seen).toEqual([2]);
    expect(await readFile(path, "utf8")).toBe("the previous snapshot");
    expect(await readdir(dir)).toEqual(["state.snap"]);
    await writeSnapshotFile(path, encodeSnapshot(header, sampleResources(3)), {
      verify: async () => {},
    });
    expect(await collect(decodeSnapshot(readSnapshotFile(path)))).toHaveLength(3);
  });

  it("stay as they were when the write is aborted", async () => {
    const path = join(dir, "state.snap");
    const controller = new AbortController();
    let chunks = 0;
    async function* slow() {
      for await (const chunk of encodeSnapshot(header, sampleResources(1000))) {
        if (++chunks === 3) controller.abort(new Error("shutting down"));
        yield chunk;
      }
    }
    await expect(writeSnapshotFile(path, slow(), { signal: controller.signal })).rejects.toThrow(
      "shutting down",
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("pass the file system's errors on unchanged", async () => {
    const missing = join(dir, "missing.snap");
    await expect(collect(decodeSnapshot(readSnapshotFile(missing)))).rejects.toMatchObject({
      code: "ENOENT",
    });
    const inMissingDir = join(dir, "no-such-dir", "state.snap");
    await expect(writeSnapshotFile(inMissingDir, encodeSnapshot(header, []))).rejects.toMatchObject(
      {
        code: "ENOENT",
      },
    );
  });

  it("are not opened until read, so an unread reader holds no file open", async () => {
    const path = join(dir, "state.snap");
    await writeSnapshotFile(path, encodeSnapshot(header, []));
    const reading = readSnapshotFile(path);
    // A round trip through the file system's thread pool: time enough for an eager open.
    await stat(path);
    await rm(path);
    await expect(reading.next()).rejects.toMatchObject({ code: "ENOENT" });
  });
});
