import { afterEach, describe, expect, it } from "vitest";
import { isInconsistentStateError } from "../errors.js";
import { TestCluster, waitFor } from "../test-support/cluster.js";
import { encodeCommand } from "../testing/kv-fsm.js";
import type { RaftEvent } from "./events.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";

const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe("a member restarted under its id with its data gone", () => {
  it("stops with InconsistentStateError at the leader's first heartbeat; the others keep serving", async () => {
    cluster = new TestCluster(["n1", "n2", "n3"]);
    await cluster.start();
    const leader = await cluster.leader();
    const [follower] = cluster.followers(leader);
    if (follower === undefined) throw new Error("no follower");
    for (let i = 0; i < 5; i++) await leader.apply(put("k", String(i)));
    await waitFor(() => cluster?.member(follower.id).fsm.lastIndex === leader.stats().appliedIndex);
    // The operator wipes the follower's data directory and starts it again under the same id.
    const member = cluster.member(follower.id);
    member.logStore = new MemoryLogStore();
    member.stableStore = new MemoryStableStore();
    member.snapshotStore = new MemorySnapshotStore();
    const restarted = await cluster.restart(follower.id);
    const failed = await new Promise<RaftEvent>((resolve) => {
      const stop = restarted.node.observe((event) => {
        if (event.type === "failed") {
          stop();
          resolve(event);
        }
      });
    });
    expect(failed.type === "failed" && isInconsistentStateError(failed.error)).toBe(true);
    expect(failed.type === "failed" && failed.error.message).toContain("lost entries");
    // Two of three still make a quorum.
    await leader.apply(put("k", "after"));
  });
});
