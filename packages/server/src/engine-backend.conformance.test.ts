import { runConformance } from "@raftstore/storage/conformance";
import { describe } from "vitest";
import { startMemoryCluster } from "./test-support/memory-cluster.js";

// The storage conformance suite against the Raft-backed Backend on a real 3-node cluster of the
// engine (in-memory stores and network, real loopback forwarding), through the leader and
// through a follower.
for (const role of ["leader", "follower"] as const) {
  describe(`Raft backend on a real engine, through the ${role}`, () => {
    runConformance({
      async newBackend({ onCleanup }) {
        const cluster = await startMemoryCluster();
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
      ignoreWatchListSnapshotOperations: role === "follower",
    });
  });
}
