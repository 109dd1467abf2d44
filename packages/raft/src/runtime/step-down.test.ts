import { describe, expect, it } from "vitest";
import { isTimeoutError } from "../errors.js";
import {
  VirtualCluster,
  virtualElectionTicks,
  virtualTickMs,
} from "../test-support/virtual-cluster.js";
import { encodeCommand } from "../testing/kv-fsm.js";

// A leader's own proposals when its term ends before they commit: the next leader may commit
// their entries or replace them, and the callers wait for the entries applied here to tell
// (within a bound), rather than hear at once that the outcome is unknown. On virtual time.

const ids = ["n1", "n2", "n3"];
const electionTimeoutMs = virtualElectionTicks * virtualTickMs;
const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

describe("proposals of a leader whose term ends", () => {
  it("an entry replicated before the leader stepped down is committed by the next leader, and its caller gets its result", async () => {
    for (const seed of [1, 2, 3]) {
      const c = new VirtualCluster(ids, seed);
      await c.start();
      const leader = await c.leader();
      const term = leader.term;
      // While it leads this term the leader hears nobody: it replicates the entry but cannot
      // commit it, and check-quorum makes it step down.
      c.network.tamper = (m) =>
        leader.state === "leader" && leader.term === term && m.to === leader.id ? undefined : m;
      const result = await c.settle(leader.apply(put("k", "v")), 20 * electionTimeoutMs);
      expect(result).toEqual({ ok: true });
      expect(leader.term).toBeGreaterThan(term);
      await c.runUntil(() => ids.every((id) => c.member(id).fsm.get("k") === "v"), 5000);
      for (const id of ids) expect(c.member(id).fsm.get("k")).toBe("v");
      c.network.tamper = undefined;
      await c.shutdown();
    }
  });

  it("a leader cut off for good gives up on its entry ten election timeouts after it steps down: TimeoutError, never a hang", async () => {
    const c = new VirtualCluster(ids, 4);
    await c.start();
    const leader = await c.leader();
    c.isolate(leader.id);
    const started = c.now;
    const error = await c.settle(
      leader.apply(put("k", "v")).catch((e: unknown) => e),
      30 * electionTimeoutMs,
    );
    expect(isTimeoutError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/outcome is unknown/);
    expect(c.now - started).toBeGreaterThanOrEqual(10 * electionTimeoutMs);
    // Check-quorum makes it step down within about two election timeouts; the bound runs from then.
    expect(c.now - started).toBeLessThanOrEqual(13 * electionTimeoutMs);
    c.network.heal();
    await c.shutdown();
  });
});
