import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decodeRawSnapshot,
  decodeSnapshot,
  encodeRawSnapshot,
  encodeSnapshot,
  inspectSnapshot,
  isSnapshotFormatError,
  readSnapshotFile,
  writeSnapshotFile,
} from "./index.js";

function artist(name: string): Resource {
  return create(ResourceSchema, {
    id: {
      uid: `uid-${name}`,
      name,
      type: { group: "demo", groupVersion: "v2", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    },
    version: "1",
  });
}

/** A stand-in for the in-memory store: restore into a fresh map, swap it in on commit. */
class Store {
  resources = new Map<string, Resource>();
  restore() {
    const fresh = new Map<string, Resource>();
    return {
      apply: (resource: Resource) => fresh.set(resource.id?.name ?? "", resource),
      commit: () => {
        this.resources = fresh;
      },
      abort: () => fresh.clear(),
    };
  }
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-snapshot-readme-"));
  path = join(dir, "backup.snap");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function restore(store: Store, path: string): Promise<void> {
  const restoration = store.restore();
  try {
    for await (const resource of decodeSnapshot(readSnapshotFile(path))) {
      restoration.apply(resource);
    }
    restoration.commit(); // reached only when the whole snapshot verified
  } catch (error) {
    restoration.abort();
    throw error;
  }
}

describe("the README examples", () => {
  it("write a snapshot file and read it back", async () => {
    const resources = [artist("alice"), artist("bob")];
    await writeSnapshotFile(path, encodeSnapshot({ index: 42n, term: 3n }, resources));

    const reader = decodeSnapshot(readSnapshotFile(path));
    const restored: Resource[] = [];
    for await (const resource of reader) restored.push(resource);
    const { index, term, createdAt } = await reader.header;

    expect(restored).toEqual(resources);
    expect([index, term]).toEqual([42n, 3n]);
    expect(createdAt).toBeInstanceOf(Date);
  });

  it("restore into a store only when the whole snapshot verified", async () => {
    await writeSnapshotFile(path, encodeSnapshot({ index: 42n, term: 3n }, [artist("alice")]));
    const store = new Store();
    await restore(store, path);
    expect([...store.resources.keys()]).toEqual(["alice"]);

    await writeFile(path, "garbage");
    const warnings: unknown[] = [];
    const logger = {
      warn: (fields: object, message: string) => warnings.push({ ...fields, message }),
    };

    try {
      await restore(store, path);
    } catch (error) {
      if (!isSnapshotFormatError(error)) throw error;
      logger.warn(
        { path, offset: error.offset, reason: error.reason },
        "damaged snapshot, nothing restored",
      );
    }

    expect([...store.resources.keys()]).toEqual(["alice"]);
    expect(warnings).toEqual([
      { path, offset: 0, reason: "bad-magic", message: "damaged snapshot, nothing restored" },
    ]);
  });

  it("inspect a snapshot", async () => {
    await writeSnapshotFile(
      path,
      encodeSnapshot({ index: 42n, term: 3n }, [artist("alice"), artist("bob")]),
    );

    const info = await inspectSnapshot(readSnapshotFile(path));
    // { formatVersion: 1, index: 42n, term: 3n, createdAt: 2026-…, count: 2, bytes: 194,
    //   largestResourceBytes: 63, resourcesByType: { "demo.v2.Artist": 2 },
    //   resourcesByUnversionedType: { "demo.Artist": 2 } }

    expect(info).toMatchObject({
      formatVersion: 1,
      index: 42n,
      term: 3n,
      count: 2,
      bytes: 194,
      largestResourceBytes: 63,
      resourcesByType: { "demo.v2.Artist": 2 },
      resourcesByUnversionedType: { "demo.Artist": 2 },
    });
  });

  it("carry encoded resources from a Raft backend's snapshot to its restoration", async () => {
    const messages = [artist("alice"), artist("bob")].map((r) => toBinary(ResourceSchema, r));
    const snapshot = { next: () => messages.shift() ?? null };
    const applied: Resource[] = [];
    const restoration = {
      apply: (msg: Uint8Array) => applied.push(fromBinary(ResourceSchema, msg)),
    };

    function* encodedResources(snapshot: { next(): Uint8Array | null }) {
      for (let msg = snapshot.next(); msg !== null; msg = snapshot.next()) yield msg;
    }
    await writeSnapshotFile(
      path,
      encodeRawSnapshot({ index: 42n, term: 3n }, encodedResources(snapshot)),
    );
    for await (const msg of decodeRawSnapshot(readSnapshotFile(path))) restoration.apply(msg);

    expect(applied).toEqual([artist("alice"), artist("bob")]);
  });
});
