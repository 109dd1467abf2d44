import { create } from "@bufbuild/protobuf";
import { ResourceSchema, TenancySchema } from "@raftstore/proto";
import { isInconsistentError, isNotFoundError, ReadConsistency } from "@raftstore/storage";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MemoryCluster,
  type MemoryMember,
  startMemoryCluster,
} from "./test-support/memory-cluster.js";

const resource = (name: string) =>
  create(ResourceSchema, {
    id: {
      uid: "u1",
      name,
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    },
  });

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/**
 * Resolves when `member` stops knowing a leader. The election that follows can take less than
 * a millisecond in memory, so the caller acts in the continuation, before any timer or message.
 */
function noLeaderOn(member: MemoryMember): Promise<void> {
  return new Promise((resolve) => {
    const stop = member.raft.observe((event) => {
      if (event.type === "leaderChange" && event.leader === undefined) {
        stop();
        resolve();
      }
    });
  });
}

describe("the Raft backend on a real engine", () => {
  it("fails writes and strong reads on a node without a leader with InconsistentError, once the leader hold runs out", async () => {
    cluster = await startMemoryCluster(3, { leaderHoldMs: 300 });
    const leader = await cluster.leader();
    const [follower, other] = await cluster.followers();
    if (follower === undefined || other === undefined) throw new Error("no followers");
    await follower.backend.writeCAS(resource("before"));
    // The leader and another member go away: no quorum, and soon no leader.
    await Promise.all([leader.raft.shutdown(), other.raft.shutdown()]);
    const write = await follower.backend.writeCAS(resource("after")).catch((e: unknown) => e);
    const read = await follower.backend
      .read(ReadConsistency.Strong, resource("before").id as never)
      .catch((e: unknown) => e);
    expect(isInconsistentError(write), String(write)).toBe(true);
    expect(isInconsistentError(read), String(read)).toBe(true);
    // Both settled (a hang would time the test out): bounded by the leader hold (0.3 s here),
    // the forwarding timeout (3 s) or the engine's read timeout.
    // Eventual reads keep working from the local store.
    const local = await follower.backend.read(
      ReadConsistency.Eventual,
      resource("before").id as never,
    );
    expect(local.id?.name).toBe("before");
  });

  it.each(["raft", "rpc"] as const)(
    "holds writes, deletes and strong reads through an election, and serves them once there is a leader (forwarding %s)",
    async (forwarding) => {
      cluster = await startMemoryCluster(3, { forwarding });
      const leader = await cluster.leader();
      const [follower] = await cluster.followers();
      if (follower === undefined) throw new Error("no follower");
      const before = await follower.backend.writeCAS(resource("before"));
      const leaderless = noLeaderOn(follower);
      await leader.raft.shutdown();
      // Once the follower has given up on the old leader, nothing it is asked can reach one.
      await leaderless;
      const calls = [
        follower.backend.writeCAS(resource("during")),
        follower.backend.deleteCAS(before.id as never, before.version),
        follower.backend.read(ReadConsistency.Strong, resource("during").id as never).then(
          () => "found",
          (error: unknown) => (isNotFoundError(error) ? "not found" : Promise.reject(error)),
        ),
        follower.backend.list(
          ReadConsistency.Strong,
          { group: "demo", kind: "Artist" },
          create(TenancySchema, { partition: "default", namespace: "default" }),
          "",
        ),
      ];
      expect(follower.raft.leader).toBeUndefined();
      const [written] = await Promise.all(calls);
      expect((written as { id?: { name: string } }).id?.name).toBe("during");
      // A leader among the two left: cluster.leader() would wait for the stopped one to agree.
      expect(follower.raft.leader).toBeDefined();
      expect(follower.raft.leader).not.toBe(leader.id);
      const stored = await follower.backend.read(
        ReadConsistency.Strong,
        resource("during").id as never,
      );
      expect(stored.version).toBe((written as { version: string }).version);
    },
  );

  it("fails at once on a node without a leader when the hold is off", async () => {
    cluster = await startMemoryCluster(3, { leaderHoldMs: 0 });
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    if (follower === undefined) throw new Error("no follower");
    const leaderless = noLeaderOn(follower);
    await leader.raft.shutdown();
    await leaderless;
    const error = await follower.backend.writeCAS(resource("during")).catch((e: unknown) => e);
    expect(isInconsistentError(error), String(error)).toBe(true);
    // Raised before any election could finish: the follower still knows no leader.
    expect(follower.raft.leader).toBeUndefined();
  });

  it("a write a follower sent to a leader that had just stopped is held, and written once there is a new leader", async () => {
    cluster = await startMemoryCluster(3, { forwarding: "raft" });
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    if (follower === undefined) throw new Error("no follower");
    await follower.backend.writeCAS(resource("before"));
    await leader.raft.shutdown();
    // The follower still believes in the stopped leader: it forwards the proposal there, and
    // no answer comes. Once the next leader commits an entry, the follower knows the proposal
    // was not committed (NotCommittedError), so the Backend holds the write and makes it again.
    expect(follower.raft.leader).toBe(leader.id);
    const written = await follower.backend.writeCAS(resource("during"));
    expect(written.id?.name).toBe("during");
    expect(follower.raft.leader).not.toBe(leader.id);
    const stored = await follower.backend.read(
      ReadConsistency.Strong,
      resource("during").id as never,
    );
    expect(stored.version).toBe(written.version);
  });

  it("settles every forwarded write, with success or InconsistentError, when the leader changes mid-flight", async () => {
    cluster = await startMemoryCluster();
    const leader = await cluster.leader();
    const [follower] = await cluster.followers();
    if (follower === undefined) throw new Error("no follower");
    const writes = Array.from({ length: 40 }, (_, i) =>
      follower.backend.writeCAS(resource(`w${i}`)).then(
        () => "ok",
        (error: unknown) =>
          isInconsistentError(error) ? "inconsistent" : `unexpected: ${String(error)}`,
      ),
    );
    await leader.raft.transferLeadership();
    const outcomes = await Promise.all(writes);
    expect(outcomes.filter((o) => o.startsWith("unexpected"))).toEqual([]);
    // Every write that reported success is there, on every member, once the cluster settles.
    const newLeader = await cluster.leader();
    const acknowledged = outcomes.flatMap((o, i) => (o === "ok" ? [`w${i}`] : []));
    for (const name of acknowledged) {
      const stored = await newLeader.backend.read(
        ReadConsistency.Strong,
        resource(name).id as never,
      );
      expect(stored.id?.name).toBe(name);
    }
  });
});
