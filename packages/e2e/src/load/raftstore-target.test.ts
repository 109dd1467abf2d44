import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, loadConfig, type RaftstoreNode, startNode } from "@raftstore/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../free-port.js";
import { waitFor } from "../wait.js";
import type { KvTarget } from "./kv-target.js";
import { createRaftstoreTarget } from "./raftstore-target.js";
import { runWorkload } from "./workloads.js";

// One node in this process is enough to check what the target sends and how it reads answers;
// the cluster benchmark and the fault tests run it against three processes.
describe("the raftstore target", () => {
  let dir: string;
  let node: RaftstoreNode;
  let target: KvTarget;
  const value = new Uint8Array(256).fill(7);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "e2e-target-"));
    const port = await freePort();
    const config = loadConfig({
      flags: {
        id: "n1",
        dataDir: join(dir, "n1"),
        listen: `127.0.0.1:${port}`,
        initialCluster: `n1=127.0.0.1:${port}`,
        tickMs: "20",
      },
    });
    node = await startNode(config, { logger: createLogger("silent") });
    target = createRaftstoreTarget([node.url]);
    await waitFor("the single node to lead", async () =>
      node.raft.state === "leader"
        ? { done: true, value: undefined }
        : { done: false, seen: node.raft.state },
    );
  });

  afterAll(async () => {
    target.close();
    await node.close({ graceMs: 100 });
    await rm(dir, { recursive: true, force: true });
  });

  it("stores the value as the resource's data and reads it back, strongly or locally", async () => {
    const version = await target.put(0, "key-000001", value);
    expect(await target.get(0, "key-000001", "linearizable")).toEqual({ value, version });
    expect(await target.get(1, "key-000001", "serializable")).toEqual({ value, version });
    expect(await target.get(0, "key-000404", "linearizable")).toBeUndefined();
  });

  it("swaps only from the current version, and reports a stale one as no swap", async () => {
    const first = await target.put(0, "cas-0", value);
    const second = await target.cas(0, "cas-0", first, value);
    expect(second).not.toBe(first);
    expect(await target.cas(0, "cas-0", first, value)).toBeUndefined();
  });

  it("runs the compare-and-swap workload without a single conflict", async () => {
    const result = await runWorkload(target, "cas", 4, { warmupMs: 50, durationMs: 300 });
    expect(result.operations).toBeGreaterThan(0);
    expect(result.errors).toEqual({});
  });
});
