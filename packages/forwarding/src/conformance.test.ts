import { runConformance } from "@raftstore/storage/conformance";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { ForwardedBackend } from "./test-support/forwarded-backend.js";
import { clientOf, startLoopback } from "./test-support/loopback.js";

// The whole storage contract, with every write, delete and strong read and list crossing a real
// loopback socket: each error kind, the group-version mismatch's stored resource, frozen results
// and untouched inputs must survive the trip.
runConformance({
  newBackend: async ({ onCleanup }) => {
    const leader = new MemoryBackend();
    const loopback = await startLoopback(leader);
    onCleanup(() => loopback.close());
    return new ForwardedBackend(clientOf(loopback), leader);
  },
  supportsStronglyConsistentList: true,
  overwrite: true,
  deleteIncarnation: true,
});
