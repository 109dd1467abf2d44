import type { SnapshotMeta } from "../log-types.js";
import {
  type SnapshotIdentity,
  type SnapshotSink,
  type SnapshotSource,
  type SnapshotStore,
  sameSnapshot,
} from "../stores.js";

interface Stored {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export interface MemorySnapshotStoreOptions {
  /** Snapshots kept (the newest). Default 2. */
  readonly retain?: number;
  /** Bytes per chunk when reading. Default 64 KiB. */
  readonly readChunkSize?: number;
}

/** A SnapshotStore in memory, for tests and for nodes that need no durability. */
export class MemorySnapshotStore implements SnapshotStore {
  private snapshots: Stored[] = [];
  private readonly retain: number;
  private readonly readChunkSize: number;

  constructor(options: MemorySnapshotStoreOptions = {}) {
    this.retain = Math.max(1, options.retain ?? 2);
    this.readChunkSize = Math.max(1, options.readChunkSize ?? 64 * 1024);
  }

  async create(meta: SnapshotMeta): Promise<SnapshotSink> {
    const chunks: Uint8Array[] = [];
    let done = false;
    return {
      write: async (chunk) => {
        if (done) throw new Error("the snapshot sink is already committed or aborted");
        chunks.push(chunk.slice());
      },
      commit: async () => {
        if (done) throw new Error("the snapshot sink is already committed or aborted");
        done = true;
        const data = concat(chunks);
        this.snapshots.push({ meta, data });
        if (this.snapshots.length > this.retain)
          this.snapshots.splice(0, this.snapshots.length - this.retain);
        return data.byteLength;
      },
      abort: async () => {
        done = true;
      },
    };
  }

  async latest(): Promise<SnapshotMeta | undefined> {
    return this.snapshots[this.snapshots.length - 1]?.meta;
  }

  async list(): Promise<readonly SnapshotIdentity[]> {
    return this.snapshots.map(({ meta }) => ({ index: meta.index, term: meta.term })).reverse();
  }

  async setAside(snapshot: SnapshotIdentity): Promise<void> {
    this.snapshots = this.snapshots.filter(({ meta }) => !sameSnapshot(meta, snapshot));
  }

  async open(meta?: SnapshotIdentity): Promise<SnapshotSource | undefined> {
    const found =
      meta === undefined
        ? this.snapshots[this.snapshots.length - 1]
        : this.snapshots.findLast((s) => sameSnapshot(s.meta, meta));
    if (found === undefined) return undefined;
    const { data } = found;
    const chunkSize = this.readChunkSize;
    return {
      meta: found.meta,
      size: data.byteLength,
      read: (offset = 0) => ({
        async *[Symbol.asyncIterator]() {
          for (let at = offset; at < data.byteLength; at += chunkSize) {
            yield data.slice(at, Math.min(at + chunkSize, data.byteLength));
          }
        },
      }),
      close: async () => {},
    };
  }

  async close(): Promise<void> {}
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
