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

/**
 * What to do about a member whose durable state is damaged or lost: the one recovery that
 * exists today. Said when a data directory cannot be opened, and when a running node stops
 * because its log is corrupt or lacks entries it acknowledged.
 */
export const LOST_MEMBER_ADVICE =
  "Move the directory aside (keep it: it may be needed to investigate). Do not start this --id again with an empty --data-dir: the node would forget its vote and the writes it acknowledged, and could help elect a leader that lacks them. raftstore cannot replace a member yet (no membership changes): the other members keep serving while a quorum of them runs, and to get back to full strength, save a snapshot from the running cluster (`raftstore snapshot save FILE`), start a new cluster and restore it there (`raftstore snapshot restore FILE`).";

/** Advice for the failures of opening a data directory that an operator can act on. */
export function explainDataDirError(error: unknown, dataDir: string): NodeStartError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const advice: Record<string, string> = {
    DataDirLockedError: `another raftstore process is using ${dataDir}. Stop it first, or give this node its own --data-dir.`,
    UnsupportedFormatError: `${dataDir} is not a data directory this version of raftstore can use (${message}). If it holds other files, choose another --data-dir; if another raftstore version wrote it, run that version.`,
    WalCorruptionError: `the write-ahead log in ${dataDir} is damaged (${message}). Do not delete or edit files in it by hand. ${LOST_MEMBER_ADVICE}`,
    StableStateCorruptionError: `the term/vote file in ${dataDir} is damaged (${message}); the node cannot safely vote with it. ${LOST_MEMBER_ADVICE}`,
    SnapshotCorruptionError: `a snapshot in ${dataDir} is damaged (${message}). ${LOST_MEMBER_ADVICE}`,
    DataDirMemberError: message,
    ClusterFileError: `${message}. The rest of the directory may be intact. If you are sure it belongs to the cluster that --initial-cluster and --initial-cluster-token describe, delete the file: the node records that cluster, and its --id as the member, again when it starts. Otherwise write "raftstore cluster <id>" and "member <its --id>" into it, on two lines, with the id its peers log when they start ("node started", cluster)`,
    StoreFailedError: `the disk under ${dataDir} failed (${message}). Check the disk; the node stops rather than risk losing acknowledged writes.`,
  };
  return new NodeStartError(`cannot open data directory ${dataDir}: ${advice[name] ?? message}`, {
    cause: error,
  });
}

/** What to do when the node cannot listen on --listen, by the system's error code. */
export function listenAdvice(error: unknown): string {
  switch ((error as { code?: unknown }).code) {
    case "EADDRINUSE":
      return "Another process is using the port: stop it, or choose another --listen.";
    case "EACCES":
      return "Ports below 1024 need privileges: choose a port from 1024 up.";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "The host name does not resolve here: use an IP address, or a name this machine resolves.";
    case "EADDRNOTAVAIL":
      return "No network interface of this machine has that address: use one of its addresses, or 0.0.0.0 with --advertise.";
    default:
      return "Check the address and the port.";
  }
}
