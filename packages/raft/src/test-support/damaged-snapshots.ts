import { SnapshotDamagedError } from "../errors.js";
import type { SnapshotMeta } from "../log-types.js";
import type { MemorySnapshotStore } from "../runtime/memory-snapshot-store.js";

/**
 * Makes `store` hand out the snapshots `isDamaged` picks as damage on disk shows: reading one
 * yields its first chunk, then fails with a SnapshotDamagedError. Returns `store`.
 */
export function damageSnapshots(
  store: MemorySnapshotStore,
  isDamaged: (meta: SnapshotMeta) => boolean,
): MemorySnapshotStore {
  const open = store.open.bind(store);
  store.open = async (meta) => {
    const source = await open(meta);
    if (source === undefined || !isDamaged(source.meta)) return source;
    return {
      ...source,
      read: (offset) => ({
        async *[Symbol.asyncIterator]() {
          for await (const chunk of source.read(offset)) {
            yield chunk;
            throw new SnapshotDamagedError(
              `snapshot ${source.meta.index}: a chunk fails its checksum`,
            );
          }
        },
      }),
    };
  };
  return store;
}
