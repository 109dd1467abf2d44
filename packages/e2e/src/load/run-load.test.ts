import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { runLoad } from "./run-load.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("runLoad", () => {
  it("keeps one operation in flight per client, all clients at once", async () => {
    let inFlight = 0;
    let most = 0;
    const seen = new Set<number>();
    let virtual = 0;
    const result = await runLoad({
      clients: 4,
      warmupMs: 20,
      durationMs: 100,
      clock: () => virtual++,
      operation: async (client) => {
        seen.add(client);
        most = Math.max(most, ++inFlight);
        await tick();
        inFlight--;
      },
    });
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    expect(most).toBe(4);
    expect(result.clients).toBe(4);
    expect(result.operations).toBeGreaterThan(0);
    expect(result.throughput).toBeCloseTo(result.operations / result.seconds, 0);
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
  });

  it("measures only what completes in the window, and counts failures by code apart", async () => {
    // A virtual clock that moves 1 ms per reading, so the run is the same on any machine: the
    // loop reads it three times per operation (loop test, start, end), so operation k ends at
    // 3k + 3. With a 10 ms warm-up and a 30 ms window, operations 3 to 12 end inside it.
    let virtual = 0;
    const result = await runLoad({
      clients: 1,
      warmupMs: 10,
      durationMs: 30,
      clock: () => virtual++,
      pauseAfterErrorMs: 0,
      operation: async (_client, k) => {
        await tick();
        if (k % 4 === 1) throw new ConnectError("no leader", Code.Unavailable);
        if (k % 4 === 3) throw new RangeError("odd");
      },
    });
    expect(result.operations).toBe(5);
    expect(result.errors).toEqual({ RangeError: 3, Unavailable: 2 });
    expect(result.throughput).toBe(166.7);
    expect(result.latencyMs).toEqual({ p50: 1, p90: 1, p99: 1, max: 1, mean: 1 });
  });

  it("says how much of the cluster's CPU each operation took, read at both ends of the window", async () => {
    // Each operation costs the "cluster" 2 ms of CPU, counted as it completes.
    let clusterMs = 0;
    const result = await runLoad({
      clients: 2,
      warmupMs: 30,
      durationMs: 150,
      clusterCpuMs: () => clusterMs,
      operation: async () => {
        await tick();
        clusterMs += 2;
      },
    });
    expect(result.operations).toBeGreaterThan(100);
    // The window's two readings and its count of operations differ by the few in flight.
    expect(result.clusterCpuPerOperationUs).toBeGreaterThan(1900);
    expect(result.clusterCpuPerOperationUs).toBeLessThan(2100);
    expect(result.clusterCpu).toBeGreaterThan(0);

    const without = await runLoad({
      clients: 1,
      warmupMs: 0,
      durationMs: 20,
      operation: async () => {
        await tick();
      },
    });
    expect(without.clusterCpuPerOperationUs).toBeNaN();
  });

  it("refuses a run without clients", async () => {
    await expect(
      runLoad({ clients: 0, warmupMs: 0, durationMs: 10, operation: async () => {} }),
    ).rejects.toThrow(/expected at least one client, got 0/);
  });
});
