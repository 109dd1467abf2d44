import type { Resource } from "@raftstore/proto";

// What the fault tests' clients write and read. Each resource name is a key of a key-value register, and the value
// of a write is a string unique to that write, kept in metadata["v"]. Because no two writes
// share a value, a resource version stands for exactly one value, and a version-based
// compare-and-swap (read strongly, then write with that version) is the value-based CAS of
// kvModel: it swaps exactly when the key still holds the value that was read.

/** Where metadata keeps a write's unique value. */
export const valueKey = "v";

/** What a client knows about one write it attempted. */
export interface WriteRecord {
  key: string;
  value: string;
  /** ok: acknowledged; failed: definitely not applied (Aborted); unknown: it may have been. */
  status: "pending" | "ok" | "failed" | "unknown";
  /** The version the acknowledgement carried. */
  version?: string;
  /** Sent at (performance.now()). */
  invokedAt: number;
}

/** What a read saw of a key; all fields empty when nothing is stored. */
export interface ReadResult {
  value: string | undefined;
  version: string;
  uid: string;
}

export function readResult(resource: Resource | undefined): ReadResult {
  return {
    value: resource?.metadata[valueKey],
    version: resource?.version ?? "",
    uid: resource?.id?.uid ?? "",
  };
}
