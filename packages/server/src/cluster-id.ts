import { createHash } from "node:crypto";
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { NodeLogger } from "./logger.js";

// Which cluster and which member a data directory belongs to. The nodes' raft streams carry the
// cluster, and a node refuses the streams of another cluster (@raftstore/raft-transport's
// clusterId): without it, a node started on a data directory of another cluster (kept, copied,
// or restored from the wrong backup) joined the cluster its flags named, and since both logs had
// entries at the same indexes and terms, its peers took its log for theirs: it served the other
// cluster's data, strong reads included, and applied this cluster's entries on top of it. The
// member keeps a directory from being started under another --id, whose vote it is not.

/** The file in the data directory that names its cluster and member. */
export const CLUSTER_FILE = "CLUSTER";

const heading = "raftstore cluster";

/**
 * The id of the cluster that `initialCluster` and `token` describe, as etcd derives its cluster
 * ID from --initial-cluster and --initial-cluster-token: the same on every member, different
 * for another member list or another token. 16 hex digits.
 */
export function clusterIdOf(initialCluster: ReadonlyMap<string, string>, token: string): string {
  const members = [...initialCluster]
    .map(([id, address]) => `${id}=${address}`)
    .sort()
    .join(",");
  return createHash("sha256").update(`${token}\n${members}`).digest("hex").slice(0, 16);
}

/** The data directory's CLUSTER file could not be read as one. */
export class ClusterFileError extends Error {
  override readonly name = "ClusterFileError";
}

/** The data directory belongs to another member than the node's --id. */
export class DataDirMemberError extends Error {
  override readonly name = "DataDirMemberError";
  readonly member: string;
  constructor(dir: string, member: string, id: string) {
    super(
      `${dir} belongs to member ${member}, and this node was started as ${id}: its log and its vote are ${member}'s, and as ${id} it could vote twice in a term. Start it with --id ${member}, or give ${id} its own data directory`,
    );
    this.member = member;
  }
}

/** What a data directory says it belongs to. */
interface Identity {
  readonly cluster: string;
  /** Absent in a file written before members were recorded (it then gets one). */
  readonly member: string | undefined;
}

const identityFormat =
  /^raftstore cluster ([\x21-\x7e]{1,128})\n(?:member ([\x21-\x7e]{1,128})\n)?$/;

/**
 * The cluster the data directory at `dir` belongs to, checking that it belongs to the member
 * `id` too. A directory that does not say yet (new, or made before raftstore recorded it) takes
 * `fromFlags` and `id`, durably, before the node talks to anyone. One that says keeps its
 * cluster whatever the flags say, and a difference is logged: its peers will refuse it if they
 * are of another cluster. The exception is a directory that holds no history yet (`noHistory`:
 * nothing but its bootstrap entry, which names the flags' members): it follows the flags, as a
 * new one would, so that a typo in a first start's --initial-cluster can be fixed by starting
 * again. One of another member is refused (DataDirMemberError), as etcd refuses a data
 * directory of another member ID: the log and the vote in it are that member's.
 */
export async function dataDirClusterId(
  dir: string,
  fromFlags: string,
  id: string,
  logger: NodeLogger,
  noHistory = false,
): Promise<string> {
  const path = join(dir, CLUSTER_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const record = (cluster: string) =>
    writeDurably(dir, CLUSTER_FILE, `${heading} ${cluster}\nmember ${id}\n`);
  if (text === undefined) {
    await record(fromFlags);
    return fromFlags;
  }
  const match = identityFormat.exec(text);
  if (match?.[1] === undefined) {
    throw new ClusterFileError(
      `${path} does not name a cluster and a member ("${heading} <id>", "member <id>"): it is damaged, or not raftstore's`,
    );
  }
  const recorded: Identity = { cluster: match[1], member: match[2] };
  if (recorded.member !== undefined && recorded.member !== id) {
    throw new DataDirMemberError(dir, recorded.member, id);
  }
  if (recorded.cluster !== fromFlags && noHistory) {
    await record(fromFlags);
    logger.warn(
      { dataDir: dir, was: recorded.cluster, cluster: fromFlags },
      "this data directory holds no history yet, and --initial-cluster or --initial-cluster-token changed since it was made: it now belongs to the cluster they describe",
    );
    return fromFlags;
  }
  if (recorded.member === undefined) await record(recorded.cluster);
  if (recorded.cluster !== fromFlags) {
    logger.warn(
      { dataDir: dir, cluster: recorded.cluster, flags: fromFlags },
      "this data directory belongs to another cluster than --initial-cluster and --initial-cluster-token describe; it keeps its own (it holds the cluster's log), and nodes of another cluster will refuse this node's streams. If the flags are right and the directory is of another cluster, give this node an empty --data-dir",
    );
  }
  return recorded.cluster;
}

/** Writes `name` in `dir` whole or not at all: a temporary file, fsync, rename, fsync of `dir`. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const temporary = join(dir, `${name}.tmp`);
  const file = await open(temporary, "w");
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dir, name));
  const directory = await open(dir, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
