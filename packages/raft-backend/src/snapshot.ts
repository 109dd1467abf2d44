import type { Store } from "@raftstore/inmem";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import { decodeSnapshot, encodeSnapshot, type SnapshotInput } from "@raftstore/snapshot";
import { fromBinaryFast, toBinaryFast } from "@raftstore/storage";

/** A point-in-time iteration of the store, as Consul's FSM consumes it. */
export interface Snapshot {
  /** The next resource, protobuf-encoded, or null at the end. */
  next(): Uint8Array | null;
}

/** A restore in progress. Nothing is visible until `commit()`. */
export interface Restoration {
  /** Adds one protobuf-encoded resource, as is (its version is kept). */
  apply(msg: Uint8Array): void;
  /** Swaps the restored data in and ends every watch with WatchClosedError. */
  commit(): void;
  /** Drops the restore. Always safe, also after commit. */
  abort(): void;
}

export function snapshotStore(store: Store): Snapshot {
  const iterator = store.snapshot()[Symbol.iterator]();
  return {
    next() {
      const step = iterator.next();
      return step.done ? null : toBinaryFast(ResourceSchema, step.value);
    },
  };
}

export function restoreStore(store: Store): Restoration {
  const restoration = store.restore();
  return {
    apply: (msg) => restoration.apply(fromBinaryFast(ResourceSchema, msg)),
    commit: () => restoration.commit(),
    abort: () => restoration.abort(),
  };
}

/**
 * Encodes a point-in-time snapshot of the store with the snapshot codec: what the engine writes
 * to its snapshot store, and what `raftstore snapshot save` writes to a file.
 */
export function encodeStoreSnapshot(
  store: Store,
  header: { index: bigint; term: bigint; createdAt?: Date },
): AsyncIterable<Uint8Array> {
  // The view is taken now, synchronously: later writes never leak into this snapshot.
  const resources: Iterable<Resource> = store.snapshot();
  return encodeSnapshot(header, resources);
}

/**
 * Restores the store from an encoded snapshot. Commits only after the whole snapshot was read
 * and verified; any damage aborts the restore and leaves the store (and its watches) as it was.
 */
export async function restoreStoreSnapshot(
  store: Store,
  chunks: SnapshotInput,
): Promise<{ count: number }> {
  const restoration = store.restore();
  let count = 0;
  try {
    for await (const resource of decodeSnapshot(chunks)) {
      restoration.apply(resource);
      count++;
    }
    restoration.commit();
    return { count };
  } finally {
    restoration.abort();
  }
}
