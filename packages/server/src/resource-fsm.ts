import { performance } from "node:perf_hooks";
import type { Entry, FSM } from "@raftstore/raft";
import type { Backend } from "@raftstore/raft-backend";
import { encodeStoreSnapshot, restoreStoreSnapshot } from "@raftstore/raft-backend";

/**
 * The engine's state machine: every committed entry goes to the storage Backend, and snapshots
 * are the store's point-in-time view in the snapshot codec's format (so a Raft snapshot file is
 * also a valid `raftstore snapshot inspect` input).
 */
export function createResourceFsm(
  backend: Backend,
  observeApply: (seconds: number) => void = () => {},
): FSM & { readonly lastApplied: Entry | undefined } {
  let lastApplied: Entry | undefined;
  return {
    get lastApplied() {
      return lastApplied;
    },
    apply(entry) {
      lastApplied = entry;
      const started = performance.now();
      const response = backend.apply(entry.data, BigInt(entry.index));
      observeApply((performance.now() - started) / 1000);
      return response;
    },
    snapshot() {
      // The view is taken here, synchronously, at the applied index; encoding happens later.
      return encodeStoreSnapshot(backend.store, {
        index: BigInt(lastApplied?.index ?? 0),
        term: BigInt(lastApplied?.term ?? 0),
      });
    },
    async restore(contents) {
      await restoreStoreSnapshot(backend.store, contents);
      lastApplied = undefined;
    },
  };
}
