import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tryItLines } from "./dev-cluster.js";
import { DEV_LOCK_FILE } from "./dev-lock.js";
import { initialClusterOf, planDevCluster } from "./dev-preflight.js";
import { ExitCode } from "./exit-codes.js";
import { freePortRange } from "./test-support/ports.js";
import { run } from "./test-support/run-cli.js";

let cwd: string;
let blocker: Server | undefined;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "raftstore-cli-dev-"));
});
afterEach(async () => {
  blocker?.close();
  blocker = undefined;
  await rm(cwd, { recursive: true, force: true });
});

async function occupy(port: number): Promise<void> {
  blocker = createServer();
  await new Promise<void>((resolve) => blocker?.listen(port, "127.0.0.1", resolve));
}

describe("raftstore dev, before it starts anything", () => {
  it("plans ids, consecutive ports and one data directory per node", () => {
    const nodes = planDevCluster({ nodes: 3, basePort: 7001, host: "127.0.0.1", dir: "/d" });
    expect(nodes.map((n) => [n.id, n.url, n.dataDir])).toEqual([
      ["n1", "http://127.0.0.1:7001", "/d/n1"],
      ["n2", "http://127.0.0.1:7002", "/d/n2"],
      ["n3", "http://127.0.0.1:7003", "/d/n3"],
    ]);
    expect(initialClusterOf(nodes, "127.0.0.1")).toBe(
      "n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003",
    );
    expect(() => planDevCluster({ nodes: 2, basePort: 65535, host: "h", dir: "/d" })).toThrow(
      "--base-port",
    );
  });

  it("refuses a port in use, naming it and how to pick others", async () => {
    const base = await freePortRange(3);
    await occupy(base + 1);
    const result = await run(["dev", "--base-port", String(base)], { cwd });
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toContain(`port ${base + 1} on 127.0.0.1 (for n2) is already in use`);
    expect(result.stderr).toContain(`raftstore dev --base-port ${base + 101}`);
    expect(result.stdout).toBe(""); // no node was started
  });

  it("refuses a directory another live dev cluster holds", async () => {
    await mkdir(join(cwd, ".raftstore-dev"));
    await writeFile(
      join(cwd, ".raftstore-dev", DEV_LOCK_FILE),
      JSON.stringify({ pid: process.pid }),
    );
    const result = await run(["dev"], { cwd });
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toContain(
      `another \`raftstore dev\` (process ${process.pid}) is running on .raftstore-dev`,
    );
    expect(result.stderr).toContain("--dir");
  });

  it("takes over the lock of a dev cluster whose process is gone", async () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    await mkdir(join(cwd, "dev"));
    await writeFile(join(cwd, "dev", DEV_LOCK_FILE), JSON.stringify({ pid: gone }));
    const base = await freePortRange(1);
    await occupy(base);
    const result = await run(["dev", "--dir", "dev", "--nodes", "1", "--base-port", String(base)], {
      cwd,
    });
    // It got past the lock, as far as the port check, and released the lock on its way out.
    expect(result.stderr).toContain(`port ${base} on 127.0.0.1 (for n1) is already in use`);
    await expect(readFile(join(cwd, "dev", DEV_LOCK_FILE))).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("refuses to start a cluster with another number of nodes than its data has", async () => {
    const base = await freePortRange(5);
    await occupy(base); // the first run stops at the port check, after recording its size
    await run(["dev", "--base-port", String(base)], { cwd });
    const result = await run(["dev", "--nodes", "5", "--base-port", String(base)], { cwd });
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toContain(
      ".raftstore-dev holds a 3-node dev cluster, and --nodes asks for 5",
    );
    expect(result.stderr).toContain("raftstore dev --nodes 3");
  });

  it("draws the cluster's token once per directory, keeps it, and gives an older directory one", async () => {
    const base = await freePortRange(3);
    await occupy(base); // each run stops at the port check, after recording the cluster
    const shape = join(cwd, ".raftstore-dev", "dev-cluster.json");
    await run(["dev", "--base-port", String(base)], { cwd });
    const first = JSON.parse(await readFile(shape, "utf8")) as { clusterToken: string };
    expect(first.clusterToken).toMatch(/^dev-[0-9a-f]{16}$/);
    await run(["dev", "--base-port", String(base)], { cwd });
    expect(JSON.parse(await readFile(shape, "utf8"))).toEqual({
      nodes: 3,
      clusterToken: first.clusterToken,
    });
    await writeFile(shape, JSON.stringify({ nodes: 3 }));
    await run(["dev", "--base-port", String(base)], { cwd });
    const upgraded = JSON.parse(await readFile(shape, "utf8")) as { clusterToken: string };
    expect(upgraded.clusterToken).toMatch(/^dev-[0-9a-f]{16}$/);
    // Another directory, another cluster.
    await run(["dev", "--base-port", String(base), "--dir", "other"], { cwd });
    const other = JSON.parse(await readFile(join(cwd, "other", "dev-cluster.json"), "utf8")) as {
      clusterToken: string;
    };
    expect(other.clusterToken).not.toBe(upgraded.clusterToken);
  });

  it("suggests a curl line with the Connect protocol's JSON and raftstore lines", () => {
    const [curl, read, watch, status] = tryItLines("raftstore", "http://127.0.0.1:7001");
    expect(curl).toBe(
      `curl -s -H 'content-type: application/json' -d '{"resource":{"id":{"name":"hello","type":{"group":"demo","groupVersion":"v1","kind":"Greeting"}},"metadata":{"text":"hello, raftstore"}}}' http://127.0.0.1:7001/raftstore.resource.v1.ResourceService/Write`,
    );
    expect(read).toBe("raftstore read demo.v1.Greeting hello");
    expect(watch).toBe("raftstore watch demo.v1.Greeting");
    expect(status).toBe("raftstore status");
    expect(tryItLines("npx raftstore", "http://127.0.0.1:8001")[1]).toBe(
      "npx raftstore read demo.v1.Greeting hello --endpoint http://127.0.0.1:8001",
    );
  });
});
