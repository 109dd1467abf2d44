import { afterAll, describe, expect, it } from "vitest";
import {
  createRaftstoreTarget,
  preloadKeys,
  type RaftstoreCluster,
  runLoad,
  runWorkload,
  startRaftstoreCluster,
} from "./index.js";

// The examples of README.md, run as they are written there.

describe("README examples", () => {
  let cluster: RaftstoreCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  }, 30_000);

  it("starts a cluster of node processes, kills its leader and restarts it", async () => {
    cluster = await startRaftstoreCluster({ settings: { tickMs: 20 } });

    const leader = await cluster.leader();
    await cluster.kill(leader); // SIGKILL: no goodbye, unsynced state lost
    const next = await cluster.leader({ exclude: [leader] });
    await cluster.restart(leader); // same data directory, same port
    await cluster.waitForCaughtUp();

    expect(cluster.members.map((m) => m.id)).toContain(next);
    expect((await cluster.status(leader)).appliedIndex).toBeGreaterThan(0n);
  }, 120_000);

  it("drives a cluster with a workload of the benchmarks", async () => {
    if (cluster === undefined) throw new Error("the previous example starts the cluster");

    const target = createRaftstoreTarget(cluster.urls);
    await preloadKeys(target, { keys: 100 });
    const writes = await runWorkload(target, "writes", 8, {
      keys: 100,
      warmupMs: 200,
      durationMs: 1000,
    });
    target.close();
    // writes: { clients: 8, seconds: 1, operations, throughput, latencyMs: { p50, p90, p99, … },
    //           errors: {}, clientCpu }

    expect(writes.operations).toBeGreaterThan(0);
    expect(writes.errors).toEqual({});
    await cluster.close();
    cluster = undefined;
  }, 60_000);

  it("measures any asynchronous operation with the same harness", async () => {
    const store = new Map<string, string>();
    const kv = {
      get: async (key: string) => store.get(key),
    };

    const result = await runLoad({
      clients: 4,
      warmupMs: 100,
      durationMs: 500,
      operation: async (client) => {
        await kv.get(`key-${client}`);
      },
    });

    expect(result.clients).toBe(4);
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
  });
});
