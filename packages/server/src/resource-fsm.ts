import { performance } from "node:perf_hooks";
import type { FSM } from "@raftstore/raft";
import type { Backend } from "@raftstore/raft-backend";
import { encodeStoreSnapshot, restoreStoreSnapshot } from "@raftstore/raft-backend";

/**
 * The engine's state machine: every committed entry goes to the storage Backend, and snapshots
 * are the store's point-in-time view in the snapshot codec's format: a node's snapshot file
 * holds them in raft-wal's checksummed chunks, and `raftstore snapshot inspect` and `restore`
 * read it as they read a backup.
 */
export function createResourceFsm(
  backend: Backend,
  observeApply: (seconds: number) => void = () => {},
): FSM {
  // The position the store's state corresponds to, for the snapshot header (informational: the
  // engine keeps the authoritative index and term in the snapshot's metadata).
  let lastApplied = { index: 0, term: 0 };
  return {
    apply(entry) {
      lastApplied = { index: entry.index, term: entry.term };
      const started = performance.now();
      const response = backend.apply(entry.data, BigInt(entry.index));
      observeApply((performance.now() - started) / 1000);
      return response;
    },
    snapshot() {
      // The view is taken here, synchronously, at the applied index; encoding happens later.
      return encodeStoreSnapshot(backend.store, {
        index: BigInt(lastApplied.index),
        term: BigInt(lastApplied.term),
      });
    },
    async restore(contents, meta) {
      await restoreStoreSnapshot(backend.store, contents);
      lastApplied = { index: meta.index, term: meta.term };
    },
  };
}
