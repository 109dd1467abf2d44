import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CLUSTER_FILE, clusterIdOf, dataDirClusterId } from "./cluster-id.js";
import { explainDataDirError } from "./errors.js";

const members = new Map([
  ["n1", "10.0.0.1:7001"],
  ["n2", "10.0.0.2:7001"],
  ["n3", "10.0.0.3:7001"],
]);

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function capture() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: "warn" }, { write: (line: string) => lines.push(line) }) };
}

describe("clusterIdOf", () => {
  it("is the same on every member, whatever the order of --initial-cluster", () => {
    const reversed = new Map([...members].reverse());
    expect(clusterIdOf(reversed, "t")).toBe(clusterIdOf(members, "t"));
    expect(clusterIdOf(members, "t")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("differs for another token, another address or another member", () => {
    const id = clusterIdOf(members, "t");
    expect(clusterIdOf(members, "u")).not.toBe(id);
    expect(clusterIdOf(new Map([...members, ["n3", "10.0.0.4:7001"]]), "t")).not.toBe(id);
    expect(clusterIdOf(new Map([...members, ["n4", "10.0.0.4:7001"]]), "t")).not.toBe(id);
  });
});

describe("dataDirClusterId", () => {
  it("records the flags' cluster in a directory that names none, and keeps it", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    const { lines, logger } = capture();
    expect(await dataDirClusterId(dir, "aaaa", "n1", logger)).toBe("aaaa");
    expect(await readFile(join(dir, CLUSTER_FILE), "utf8")).toBe(
      "raftstore cluster aaaa\nmember n1\n",
    );
    expect(await dataDirClusterId(dir, "aaaa", "n1", logger)).toBe("aaaa");
    expect(lines).toEqual([]);
  });

  it("keeps the directory's cluster when the flags name another, and says so", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    const { lines, logger } = capture();
    await dataDirClusterId(dir, "aaaa", "n1", logger);
    expect(await dataDirClusterId(dir, "bbbb", "n1", logger)).toBe("aaaa");
    expect(lines.join("\n")).toMatch(/belongs to another cluster/);
  });

  it("follows the flags in a directory that holds no history yet, and says so", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    const { lines, logger } = capture();
    await dataDirClusterId(dir, "aaaa", "n1", logger);
    expect(await dataDirClusterId(dir, "bbbb", "n1", logger, true)).toBe("bbbb");
    expect(await readFile(join(dir, CLUSTER_FILE), "utf8")).toBe(
      "raftstore cluster bbbb\nmember n1\n",
    );
    expect(lines.join("\n")).toMatch(/holds no history yet/);
    // Another member's directory is refused all the same.
    const error = await dataDirClusterId(dir, "cccc", "n2", logger, true).catch((e) => e);
    expect((error as Error).name).toBe("DataDirMemberError");
  });

  it("refuses a directory of another member: its log and vote are that member's", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    await dataDirClusterId(dir, "aaaa", "n1", capture().logger);
    const error = await dataDirClusterId(dir, "aaaa", "n3", capture().logger).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe("DataDirMemberError");
    expect(explainDataDirError(error, dir).message).toMatch(
      /belongs to member n1, and this node was started as n3.*Start it with --id n1/,
    );
  });

  it("records the member in a file that names only the cluster", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    await writeFile(join(dir, CLUSTER_FILE), "raftstore cluster aaaa\n");
    expect(await dataDirClusterId(dir, "aaaa", "n2", capture().logger)).toBe("aaaa");
    expect(await readFile(join(dir, CLUSTER_FILE), "utf8")).toBe(
      "raftstore cluster aaaa\nmember n2\n",
    );
  });

  it("refuses a damaged CLUSTER file, and says how to mend it", async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-id-"));
    await writeFile(join(dir, CLUSTER_FILE), "garbage");
    const error = await dataDirClusterId(dir, "aaaa", "n1", capture().logger).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe("ClusterFileError");
    const explained = explainDataDirError(error, dir);
    expect(explained.message).toMatch(/does not name a cluster/);
    expect(explained.message).toMatch(
      /delete the file: the node records that cluster, and its --id as the member, again/,
    );
  });
});
