import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { OperatorService } from "@raftstore/proto/operator/v1";
import { openDataDir } from "@raftstore/raft-wal";
import { encodeSnapshot, inspectSnapshot, writeSnapshotFile } from "@raftstore/snapshot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../exit-codes.js";
import { artist, fakeNodes } from "../test-support/fake-cluster.js";
import { run } from "../test-support/run-cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-cli-snapshot-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const header = { index: 42n, term: 3n, createdAt: new Date("2026-01-02T03:04:05.000Z") };

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

async function snapshotBytes(): Promise<Uint8Array> {
  return collect(encodeSnapshot(header, [artist("alice"), artist("bob")]));
}

async function writeBackup(name = "backup.snap"): Promise<string> {
  await writeSnapshotFile(
    join(dir, name),
    encodeSnapshot(header, [artist("alice"), artist("bob")]),
  );
  return name;
}

/**
 * A snapshot file of a node's data directory holding what `writeBackup` writes (at Raft index
 * 50, term 4); its path relative to `dir`.
 */
async function writeNodeSnapshot(): Promise<string> {
  const dataDir = await openDataDir(join(dir, "node"));
  try {
    const sink = await dataDir.snapshots.create({
      index: 50,
      term: 4,
      config: { voters: ["n1", "n2", "n3"], learners: [] },
    });
    for await (const chunk of encodeSnapshot(header, [artist("alice"), artist("bob")])) {
      await sink.write(chunk);
    }
    await sink.commit();
  } finally {
    await dataDir.close();
  }
  const [name] = await readdir(join(dir, "node", "snapshots"));
  return join("node", "snapshots", name as string);
}

async function damage(name: string): Promise<void> {
  const bytes = await readFile(join(dir, name));
  bytes[60] = (bytes[60] ?? 0) ^ 0xff;
  await writeFile(join(dir, name), bytes);
}

describe("snapshot inspect", () => {
  it("verifies a snapshot and describes its header, size and resources per type", async () => {
    const file = await writeBackup();
    const result = await run(["snapshot", "inspect", file], { cwd: dir });
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain("index      42\n");
    expect(result.stdout).toContain("term       3\n");
    expect(result.stdout).toContain("created    2026-01-02T03:04:05.000Z\n");
    expect(result.stdout).toContain("resources  2\n");
    expect(result.stdout).toContain("checksums  verified\n");
    expect(result.stdout).toMatch(/^demo\.v1\.Artist {2}2$/m);
  });

  it("describes it as JSON with --json", async () => {
    const file = await writeBackup();
    const result = await run(["snapshot", "inspect", file, "--json"], { cwd: dir });
    expect(JSON.parse(result.stdout)).toMatchObject({
      file,
      formatVersion: 1,
      index: 42,
      term: 3,
      count: 2,
      resourcesByType: { "demo.v1.Artist": 2 },
    });
  });

  it("reads a snapshot file of a node's data directory, with the Raft index, term and members", async () => {
    const file = await writeNodeSnapshot();
    const result = await run(["snapshot", "inspect", file], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain(
      "node       a node's snapshot file: Raft index 50, term 4, voters n1, n2, n3\n",
    );
    expect(result.stdout).toContain("resources  2\n");
    const json = await run(["snapshot", "inspect", file, "--json"], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      count: 2,
      node: { index: 50, term: 4, voters: ["n1", "n2", "n3"], learners: [] },
    });
    // A damaged one is refused like a damaged backup.
    const bytes = await readFile(join(dir, file));
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] ?? 0) ^ 0xff;
    await writeFile(join(dir, file), bytes);
    const damaged = await run(["snapshot", "inspect", file], { cwd: dir });
    expect(damaged.code).toBe(ExitCode.InvalidArgument);
    expect(damaged.stderr).toMatch(
      /the snapshot is damaged, nothing was done with it: .* is damaged at offset \d+/,
    );
  });

  it("exits with 6 on a damaged file and says where the damage is", async () => {
    const file = await writeBackup();
    await damage(file);
    const result = await run(["snapshot", "inspect", file], { cwd: dir });
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toMatch(
      /the snapshot is damaged, nothing was done with it: snapshot damaged at byte \d+ \(frame-checksum\)/,
    );
    expect(result.stdout).toBe("");
  });
});

/** Nodes whose SnapshotRestore keeps what it received (`received()`) and answers `index`. */
function restoringNodes(index: bigint) {
  let received: Uint8Array | undefined;
  const nodes = fakeNodes(() => (router) => {
    router.service(OperatorService, {
      async snapshotRestore(requests) {
        const parts: Uint8Array[] = [];
        for await (const request of requests) parts.push(request.chunk);
        received = new Uint8Array(Buffer.concat(parts));
        const info = await inspectSnapshot([received]);
        return { resources: BigInt(info.count), index };
      },
    });
  });
  return { nodes, received: () => received };
}

describe("snapshot restore", () => {
  it("refuses a damaged file before it connects to anything", async () => {
    const file = await writeBackup();
    await damage(file);
    const nodes = fakeNodes(() => () => {});
    const result = await run(["snapshot", "restore", file, "--yes"], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toContain("the snapshot is damaged, nothing was done with it");
    expect(nodes.connected).toEqual([]);
  });

  it("asks for --yes when there is no terminal to confirm on", async () => {
    const file = await writeBackup();
    const nodes = fakeNodes(() => () => {});
    const result = await run(["snapshot", "restore", file], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toMatch(
      /Replace every resource of the cluster with the 2 resources of backup.snap .*: pass --yes to confirm/,
    );
    expect(nodes.connected).toEqual([]);
  });

  it("streams the verified file to the server and reports what was restored", async () => {
    const file = await writeBackup();
    const { nodes, received } = restoringNodes(57n);
    const result = await run(["snapshot", "restore", file, "--yes"], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toBe(
      "restored 2 resources from backup.snap; the restore took effect at index 57\n",
    );
    expect(received()).toEqual(new Uint8Array(await readFile(join(dir, file))));
  });

  it("restores from a node's snapshot file: the contents go, not the file's chunk framing", async () => {
    const file = await writeNodeSnapshot();
    const { nodes, received } = restoringNodes(58n);
    const result = await run(["snapshot", "restore", file, "--yes"], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    expect(received()).toEqual(await snapshotBytes());
  });

  it("says plainly that a server without SnapshotRestore changed nothing", async () => {
    const file = await writeBackup();
    const nodes = fakeNodes(() => (router) => router.service(OperatorService, {}));
    const result = await run(["snapshot", "restore", file, "--yes"], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toContain(
      "cannot restore snapshots: its OperatorService does not implement SnapshotRestore",
    );
    expect(result.stderr).toContain(
      "Nothing was changed. backup.snap is intact and verified (2 resources).",
    );
  });
});

describe("snapshot save", () => {
  function serving(bytes: Uint8Array, chunkBytes = 7) {
    return fakeNodes(() => (router) => {
      router.service(OperatorService, {
        async *snapshotSave() {
          for (let at = 0; at < bytes.length; at += chunkBytes) {
            yield { chunk: bytes.subarray(at, at + chunkBytes) };
          }
        },
      });
    });
  }

  it("writes the stream to FILE, verifies it and prints what inspect prints", async () => {
    const bytes = await snapshotBytes();
    const result = await run(["snapshot", "save", "saved.snap"], {
      cwd: dir,
      createTransport: serving(bytes).createTransport,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    expect(new Uint8Array(await readFile(join(dir, "saved.snap")))).toEqual(bytes);
    const inspected = await run(["snapshot", "inspect", "saved.snap"], { cwd: dir });
    expect(result.stdout).toBe(inspected.stdout);
    expect(await readdir(dir)).toEqual(["saved.snap"]);
  });

  it("refuses a FILE in a directory that is missing or a file, before it connects", async () => {
    await writeFile(join(dir, "plain"), "a file");
    for (const [file, problem] of [
      ["missing/saved.snap", `the directory ${join(dir, "missing")} does not exist`],
      ["plain/saved.snap", `${join(dir, "plain")} is not a directory`],
    ]) {
      const nodes = serving(await snapshotBytes());
      const result = await run(["snapshot", "save", file as string], {
        cwd: dir,
        createTransport: nodes.createTransport,
      });
      expect(result.code).toBe(ExitCode.InvalidArgument);
      expect(result.stderr).toBe(
        `raftstore snapshot save: cannot save to ${file}: ${problem}; nothing was saved\n`,
      );
      expect(nodes.connected).toEqual([]);
    }
  });

  it("leaves FILE untouched when the stream is not a whole snapshot", async () => {
    const bytes = await snapshotBytes();
    await writeFile(join(dir, "saved.snap"), "the previous backup");
    const result = await run(["snapshot", "save", "saved.snap", "--json"], {
      cwd: dir,
      createTransport: serving(bytes.subarray(0, bytes.length - 3)).createTransport,
    });
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toMatch(/snapshot damaged at byte \d+ \(truncated\)/);
    expect(await readFile(join(dir, "saved.snap"), "utf8")).toBe("the previous backup");
    expect(await readdir(dir)).toEqual(["saved.snap"]);
  });

  it("leaves FILE untouched when the server fails mid-stream", async () => {
    const nodes = fakeNodes(() => (router) => {
      router.service(OperatorService, {
        // biome-ignore lint/correctness/useYield: the stream fails before its first chunk
        async *snapshotSave() {
          throw new ConnectError("no leader is known right now; retry", Code.Unavailable);
        },
      });
    });
    const result = await run(["snapshot", "save", "saved.snap"], {
      cwd: dir,
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.stderr).toContain("no leader is known right now; retry");
    expect(await readdir(dir)).toEqual([]);
  });
});
