import { runConformance } from "@raftstore/storage/conformance";
import { describe } from "vitest";
import { type FakeCluster, startFakeCluster } from "./test-support/fake-cluster.js";

// Consul's Raft conformance harness: the suite against the leader; against a follower that lags
// behind a random 0–50 ms per entry and forwards writes and strong reads over a real socket; and
// against a follower as lagging that proposes and confirms reads through its own engine and
// answers from its own store (etcd's way, `servesLocally`).
const clusters = new WeakMap<object, FakeCluster>();

const titles = {
  leader: "Leader",
  follower: "Follower",
  localFollower: "Follower serving locally",
};
for (const role of ["leader", "follower", "localFollower"] as const) {
  describe(titles[role], () => {
    runConformance({
      async newBackend({ onCleanup }) {
        const cluster = await startFakeCluster({ seed: 42 });
        onCleanup(() => cluster.close());
        const backend = cluster[role];
        clusters.set(backend, cluster);
        return backend;
      },
      supportsStronglyConsistentList: true,
      overwrite: true,
      deleteIncarnation: true,
      ignoreWatchListSnapshotOperations: role !== "leader",
      restore: async (backend, resources) => {
        const cluster = clusters.get(backend);
        if (cluster === undefined) throw new Error("backend of an unknown cluster");
        await cluster.caughtUp();
        await cluster.restore(resources);
      },
    });
  });
}
