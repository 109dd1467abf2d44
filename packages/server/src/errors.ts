/**
 * The node could not start. The message says what went wrong and what to do about it; `cause`
 * holds the underlying error.
 */
export class NodeStartError extends Error {
  override readonly name = "NodeStartError";
}

export function isNodeStartError(error: unknown): error is NodeStartError {
  return error instanceof Error && error.name === "NodeStartError";
}

/** Advice for the failures of opening a data directory that an operator can act on. */
export function explainDataDirError(error: unknown, dataDir: string): NodeStartError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const advice: Record<string, string> = {
    DataDirLockedError: `another raftstore process is using ${dataDir}. Stop it first, or give this node its own --data-dir.`,
    UnsupportedFormatError: `${dataDir} is not a data directory this version of raftstore can use (${message}). If it holds other files, choose another --data-dir; if another raftstore version wrote it, run that version, or start this node with an empty --data-dir and let it catch up from its peers.`,
    WalCorruptionError: `the write-ahead log in ${dataDir} is damaged (${message}). Do not delete files by hand: move the directory aside, start this node with an empty --data-dir under a NEW --id, and add it to the cluster; it will catch up from its peers.`,
    StableStateCorruptionError: `the term/vote file in ${dataDir} is damaged (${message}). The node cannot safely vote with it. Move the directory aside and rejoin under a NEW --id.`,
    SnapshotCorruptionError: `a snapshot in ${dataDir} is damaged (${message}). Move the directory aside and rejoin under a NEW --id.`,
    StoreFailedError: `the disk under ${dataDir} failed (${message}). Check the disk; the node stops rather than risk losing acknowledged writes.`,
  };
  return new NodeStartError(`cannot open data directory ${dataDir}: ${advice[name] ?? message}`, {
    cause: error,
  });
}
