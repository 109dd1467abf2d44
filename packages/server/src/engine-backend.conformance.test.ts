import { runConformance } from "@raftstore/storage/conformance";
import { describe } from "vitest";
import { startMemoryCluster } from "./test-support/memory-cluster.js";

// The storage conformance suite against the Raft-backed Backend on a real 3-node cluster of the
// engine (in-memory stores and network, real loopback forwarding), through the leader, through
// a follower that serves writes and strong reads through its engine, and through a follower
// that forwards them to the leader's ForwardingService.
const cases = [
  { role: "leader", forwarding: "raft", title: "the leader" },
  { role: "follower", forwarding: "raft", title: "a follower (--forwarding raft)" },
  { role: "follower", forwarding: "rpc", title: "a follower (--forwarding rpc)" },
] as const;
for (const { role, forwarding, title } of cases) {
  describe(`Raft backend on a real engine, through ${title}`, () => {
    runConformance({
      async newBackend({ onCleanup }) {
        const cluster = await startMemoryCluster(3, { forwarding });
        onCleanup(() => cluster.close());
        return role === "leader"
          ? (await cluster.leader()).backend
          : (
              (await cluster.followers())[0] as {
                backend: import("@raftstore/raft-backend").Backend;
              }
            ).backend;
      },
      supportsStronglyConsistentList: true,
      overwrite: true,
      deleteIncarnation: true,
      ignoreWatchListSnapshotOperations: role === "follower",
    });
  });
}
