import { type Logger, type NodeId, silentLogger } from "@raftstore/raft";
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from "./backoff.js";
import { InvalidTransportOptionsError } from "./errors.js";
import { checkTls, type TransportTlsOptions } from "./tls.js";

/** Where each peer listens: node id → base URL (`http://10.0.0.2:7001`, `https://…` with TLS). */
export type PeerAddresses = Readonly<Record<NodeId, string>> | ReadonlyMap<NodeId, string>;

/** Options of `createRaftTransport`. Only `id` and `peers` are required. */
export interface RaftTransportOptions {
  /** This node's id: the `to` of the messages it accepts. */
  readonly id: NodeId;
  /** Where the other nodes listen. An entry for `id` itself is ignored. See `setPeers`. */
  readonly peers: PeerAddresses;
  /** Mutual TLS between nodes; every address must then be `https:`. Default: plaintext (h2c). */
  readonly tls?: TransportTlsOptions;
  /**
   * The largest request on either stream, in bytes: a batch of messages, or one snapshot chunk.
   * A message larger than this alone is dropped on send (and logged); a larger request is
   * refused by the receiver (readMaxBytes). Every node must use the same value, and it must
   * exceed the engine's `maxBytesPerAppend` plus one `maxEntrySize`, and its
   * `snapshotChunkSize`, by a margin (a few hundred bytes of envelope). Default 4 MiB.
   */
  readonly maxMessageBytes?: number;
  /** Messages queued per peer on its message stream before new ones are dropped. Default 1024. */
  readonly maxQueuedMessages?: number;
  /** Bytes queued per peer on its message stream before new ones are dropped. Default 32 MiB. */
  readonly maxQueuedBytes?: number;
  /** Snapshot chunks queued per peer before new ones are dropped. Default 8. */
  readonly maxQueuedSnapshotChunks?: number;
  /** Bytes of snapshot chunks queued per peer before new ones are dropped. Default 16 MiB. */
  readonly maxQueuedSnapshotBytes?: number;
  /** How soon a failed stream is opened again. Default 50 ms doubling up to 2 s, jitter 0.5. */
  readonly backoff?: BackoffOptions;
  /**
   * Send an HTTP/2 PING this often on a connection with open streams, and drop the connection
   * (failing its streams, reporting the peer unreachable) when one is unanswered for
   * `pingTimeoutMs`: how a peer that vanished without closing its connection is noticed.
   * Default 1000 ms.
   */
  readonly pingIntervalMs?: number;
  /** How long a PING may go unanswered. Default 2000 ms. */
  readonly pingTimeoutMs?: number;
  /**
   * How long opening a connection (TCP, TLS, HTTP/2 preface) may take before the attempt counts
   * as a failed stream. Default 2000 ms.
   */
  readonly connectTimeoutMs?: number;
  /**
   * The cluster this node belongs to. Every stream it opens says so (the `raftstore-cluster-id`
   * header), and it refuses every stream that does not name the same cluster
   * (FailedPrecondition): a node started on another cluster's data directory, or reaching
   * another cluster's addresses, never mixes its log with this cluster's (etcd checks its
   * cluster ID the same way). Absent: nothing is sent or checked.
   */
  readonly clusterId?: string;
  /** Structured logger (pino-compatible). Default: silent. */
  readonly logger?: Logger;
  /** Uniform random numbers in [0, 1), for the backoff's jitter. Default Math.random. */
  readonly random?: () => number;
}

export interface ResolvedTransportOptions {
  readonly id: NodeId;
  readonly tls: TransportTlsOptions | undefined;
  readonly verifyPeerIdentity: boolean;
  readonly maxMessageBytes: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxQueuedSnapshotChunks: number;
  readonly maxQueuedSnapshotBytes: number;
  readonly backoff: ResolvedBackoff;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly clusterId: string | undefined;
  readonly logger: Logger;
  readonly random: () => number;
}

/** Connect's ceiling for readMaxBytes. */
const maxReadMaxBytes = 0xffff_ffff;

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new InvalidTransportOptionsError(
      `expected ${name} to be a positive integer of at most ${max}, found ${value}`,
    );
  }
  return value;
}

/** A cluster id travels in a header: printable ASCII without spaces, at most 128 characters. */
function checkClusterId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,128}$/.test(value)) {
    throw new InvalidTransportOptionsError(
      `expected clusterId to be 1 to 128 printable ASCII characters without spaces, found ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Fills in defaults and checks every option, throwing InvalidTransportOptionsError. */
export function resolveTransportOptions(options: RaftTransportOptions): ResolvedTransportOptions {
  if (typeof options.id !== "string" || options.id.length === 0) {
    throw new InvalidTransportOptionsError(
      `expected a non-empty node id, found ${JSON.stringify(options.id)}`,
    );
  }
  if (options.tls !== undefined) checkTls(options.tls);
  const maxMessageBytes = positiveInteger(
    "maxMessageBytes",
    options.maxMessageBytes ?? 4 << 20,
    maxReadMaxBytes,
  );
  const resolved: ResolvedTransportOptions = {
    id: options.id,
    tls: options.tls,
    verifyPeerIdentity: options.tls !== undefined && (options.tls.verifyPeerIdentity ?? true),
    maxMessageBytes,
    maxQueuedMessages: positiveInteger("maxQueuedMessages", options.maxQueuedMessages ?? 1024),
    maxQueuedBytes: positiveInteger("maxQueuedBytes", options.maxQueuedBytes ?? 32 << 20),
    maxQueuedSnapshotChunks: positiveInteger(
      "maxQueuedSnapshotChunks",
      options.maxQueuedSnapshotChunks ?? 8,
    ),
    maxQueuedSnapshotBytes: positiveInteger(
      "maxQueuedSnapshotBytes",
      options.maxQueuedSnapshotBytes ?? 16 << 20,
    ),
    backoff: resolveBackoff(options.backoff),
    pingIntervalMs: positiveInteger("pingIntervalMs", options.pingIntervalMs ?? 1000),
    pingTimeoutMs: positiveInteger("pingTimeoutMs", options.pingTimeoutMs ?? 2000),
    connectTimeoutMs: positiveInteger("connectTimeoutMs", options.connectTimeoutMs ?? 2000),
    clusterId: checkClusterId(options.clusterId),
    logger: options.logger ?? silentLogger,
    random: options.random ?? Math.random,
  };
  for (const name of ["maxQueuedBytes", "maxQueuedSnapshotBytes"] as const) {
    if (resolved[name] < maxMessageBytes) {
      throw new InvalidTransportOptionsError(
        `expected ${name} (${resolved[name]}) to be at least maxMessageBytes (${maxMessageBytes}), or a message of the largest size could never be queued`,
      );
    }
  }
  return resolved;
}

/** Checks a peer map against the options and returns it as a Map without this node. */
export function resolvePeers(
  peers: PeerAddresses,
  options: Pick<ResolvedTransportOptions, "id" | "tls">,
): Map<NodeId, string> {
  if (typeof peers !== "object" || peers === null) {
    throw new InvalidTransportOptionsError(
      `expected peers as a map of node id to base URL, found ${String(peers)}`,
    );
  }
  const entries = peers instanceof Map ? [...peers] : Object.entries(peers);
  const resolved = new Map<NodeId, string>();
  const scheme = options.tls === undefined ? "http:" : "https:";
  for (const [id, address] of entries) {
    if (id === options.id) continue;
    if (id.length === 0) throw new InvalidTransportOptionsError("expected non-empty peer ids");
    let url: URL;
    try {
      url = new URL(address);
    } catch (cause) {
      throw new InvalidTransportOptionsError(
        `expected the address of peer ${id} to be a URL, found ${JSON.stringify(address)}`,
        { cause },
      );
    }
    if (url.protocol !== scheme) {
      throw new InvalidTransportOptionsError(
        `expected the address of peer ${id} to be an ${scheme} URL (${
          options.tls === undefined ? "no tls option" : "the tls option is set"
        }), found ${JSON.stringify(address)}`,
      );
    }
    resolved.set(id, address.replace(/\/+$/, ""));
  }
  return resolved;
}
