import { create } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { isInconsistentError, ReadConsistency } from "@raftstore/storage";
import { afterEach, describe, expect, it } from "vitest";
import { type MemoryCluster, startMemoryCluster } from "./test-support/memory-cluster.js";

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

describe("the Raft backend on a real engine", () => {
  it("fails writes and strong reads on a node without a leader with InconsistentError, promptly", async () => {
    cluster = await startMemoryCluster();
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
    // Both settled (a hang would time the test out): bounded by the forwarding timeout (3 s
    // here) or the engine's read timeout.
    // Eventual reads keep working from the local store.
    const local = await follower.backend.read(
      ReadConsistency.Eventual,
      resource("before").id as never,
    );
    expect(local.id?.name).toBe("before");
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
