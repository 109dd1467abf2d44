import { describe, expect, it } from "vitest";
import type { KvTarget, ReadMode } from "./kv-target.js";
import { warmUp } from "./workloads.js";

/** An in-memory KvTarget that counts what it was asked, by operation and client. */
function countingTarget() {
  const values = new Map<string, { value: Uint8Array; version: string }>();
  let version = 0;
  const calls = { put: 0, cas: 0, linearizable: 0, serializable: 0 };
  const clients = new Set<number>();
  const target: KvTarget = {
    name: "counting",
    async put(client, key, value) {
      calls.put++;
      clients.add(client);
      await new Promise((resolve) => setImmediate(resolve));
      const stored = { value, version: String(++version) };
      values.set(key, stored);
      return stored.version;
    },
    async cas(client, key, expected, value) {
      calls.cas++;
      clients.add(client);
      await new Promise((resolve) => setImmediate(resolve));
      if (values.get(key)?.version !== expected) return undefined;
      const stored = { value, version: String(++version) };
      values.set(key, stored);
      return stored.version;
    },
    async get(client, key, mode: ReadMode) {
      calls[mode]++;
      clients.add(client);
      await new Promise((resolve) => setImmediate(resolve));
      return values.get(key);
    },
    close() {},
  };
  return { target, calls, clients };
}

describe("warmUp", () => {
  it("runs every workload at 64 clients, for the time asked, before any figure", async () => {
    const { target, calls, clients } = countingTarget();
    const started = performance.now();
    await warmUp(target, { clusterWarmupMs: 40 });
    // Four workloads, one after the other, each for its 40 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 40 - 1);
    expect(clients.size).toBe(64);
    expect(calls.put).toBeGreaterThan(64); // the writes, and the CAS workload's first puts
    expect(calls.cas).toBeGreaterThan(0);
    expect(calls.linearizable).toBeGreaterThan(0);
    expect(calls.serializable).toBeGreaterThan(0);
  });
});
