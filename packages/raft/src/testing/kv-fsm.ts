import { checksum } from "../checksum.js";
import type { Entry, SnapshotMeta } from "../log-types.js";
import type { FSM } from "../stores.js";

/** A command of the key-value state machine (the shapes of @raftstore/linearizability's kvModel). */
export type KvCommand =
  | { readonly op: "put"; readonly key: string; readonly value: string }
  | { readonly op: "get"; readonly key: string }
  | {
      readonly op: "cas";
      readonly key: string;
      readonly expected: string | undefined;
      readonly value: string;
    }
  | { readonly op: "delete"; readonly key: string };

/** The result of a command: put/delete ok; get ok with the value (undefined = absent); cas ok = swapped. */
export interface KvResult {
  readonly ok: boolean;
  readonly value?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(decoder.decode(data)) as KvCommand;
}

export interface KvStateMachineOptions {
  /** Called after each applied entry with its index and the state hash after it. */
  readonly onApply?: (index: number, stateHash: number) => void;
  /** Bytes per chunk of a snapshot stream (small values exercise chunked transfer). */
  readonly snapshotChunkSize?: number;
}

/**
 * A small key-value state machine for tests, the simulation and benchmarks. It keeps a rolling
 * hash of everything applied, so two replicas at the same index can be compared in O(1), and
 * refuses to apply an entry twice or out of order (an engine bug would show at once).
 */
export class KvStateMachine implements FSM {
  private data = new Map<string, string>();
  /** The index of the last entry applied (or of the restored snapshot). */
  lastIndex = 0;
  /** A hash of the applied history: equal at equal indexes on every replica. */
  stateHash = 0;
  applied = 0;
  private readonly options: KvStateMachineOptions;

  constructor(options: KvStateMachineOptions = {}) {
    this.options = options;
  }

  apply(entry: Entry): KvResult {
    if (entry.index <= this.lastIndex) {
      throw new Error(
        `entry ${entry.index} applied twice or out of order (last ${this.lastIndex})`,
      );
    }
    const result = this.execute(decodeCommand(entry.data));
    this.lastIndex = entry.index;
    this.stateHash = checksum(entry.data, (this.stateHash ^ entry.index) >>> 0);
    this.applied++;
    this.options.onApply?.(entry.index, this.stateHash);
    return result;
  }

  /** Reads a key from local state (after readIndex, this read is linearizable). */
  get(key: string): string | undefined {
    return this.data.get(key);
  }

  get size(): number {
    return this.data.size;
  }

  snapshot(): AsyncIterable<Uint8Array> {
    // Captured now, when called (not when first read): later applies do not change what this
    // stream yields.
    const bytes = encoder.encode(
      JSON.stringify({
        lastIndex: this.lastIndex,
        stateHash: this.stateHash,
        data: [...this.data],
      }),
    );
    const size = this.options.snapshotChunkSize ?? 64 * 1024;
    return (async function* () {
      for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
    })();
  }

  /**
   * Replaces the state with a snapshot's, atomically: contents that are not a snapshot of this
   * state machine are refused with an error and change nothing. The state then stands at
   * `meta.index` (for a user restore, the restore's own index, whatever the snapshot's origin).
   */
  async restore(contents: AsyncIterable<Uint8Array>, meta: SnapshotMeta): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of contents) chunks.push(chunk.slice());
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    const state = parseSnapshot(all);
    this.data = new Map(state.data);
    this.lastIndex = meta.index;
    this.stateHash = state.stateHash;
  }

  /** The snapshot of a given state, as `snapshot()` would write it (for tests and simulations). */
  static encodeSnapshot(data: ReadonlyMap<string, string>, stateHash = 0): Uint8Array {
    return encoder.encode(JSON.stringify({ lastIndex: 0, stateHash, data: [...data] }));
  }

  private execute(command: KvCommand): KvResult {
    switch (command.op) {
      case "put":
        this.data.set(command.key, command.value);
        return { ok: true };
      case "get":
        return { ok: true, value: this.data.get(command.key) };
      case "delete":
        this.data.delete(command.key);
        return { ok: true };
      case "cas": {
        if (this.data.get(command.key) !== command.expected) return { ok: false };
        this.data.set(command.key, command.value);
        return { ok: true };
      }
    }
  }
}

interface KvSnapshot {
  readonly lastIndex: number;
  readonly stateHash: number;
  readonly data: [string, string][];
}

/** Parses a snapshot, refusing anything that is not one (the restore is then a no-op). */
function parseSnapshot(bytes: Uint8Array): KvSnapshot {
  let state: unknown;
  try {
    state = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new Error(`expected a key-value snapshot (JSON), found ${bytes.byteLength} other bytes`, {
      cause: error,
    });
  }
  const s = state as Partial<KvSnapshot> | null;
  const valid =
    typeof s === "object" &&
    s !== null &&
    Number.isSafeInteger(s.lastIndex) &&
    Number.isSafeInteger(s.stateHash) &&
    Array.isArray(s.data) &&
    s.data.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === "string" &&
        typeof pair[1] === "string",
    );
  if (!valid) {
    throw new Error("expected a key-value snapshot {lastIndex, stateHash, data}, found other JSON");
  }
  return s as KvSnapshot;
}
