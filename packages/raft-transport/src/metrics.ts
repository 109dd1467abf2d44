import type { MessageType, NodeId } from "@raftstore/raft";

// Counters a server exports (as Prometheus counters and gauges, say) without this package
// depending on a metrics library: `RaftTransport.metrics()` returns a fresh plain object. Every
// counter only grows while the transport lives, except the queue gauges; a peer removed by
// `setPeers` loses its counters (exporters see a reset, which they handle).

/** Why the transport dropped a message it was asked to send. */
export type SendDropReason =
  /** The peer's queue was at its bound (messages or bytes): the peer is slow or gone. */
  | "queue-full"
  /** The message is larger than `maxMessageBytes` on the wire. */
  | "too-large"
  /** It was queued when the stream to the peer failed (or could not be opened). */
  | "disconnected"
  /** A field could not be encoded (a bug in the caller). */
  | "invalid-message"
  /** The transport was closed, or the peer removed, before it was written. */
  | "closed";

/** Why the transport dropped a message it received (the stream went on). */
export type ReceiveRejectReason =
  /** It did not decode: unparsable bytes, a missing or out-of-range field, an unknown kind. */
  | "malformed"
  /** It is addressed to another node (a stale peer address). */
  | "misaddressed"
  /** Not a snapshot chunk, on the InstallSnapshot stream. */
  | "wrong-stream";

/** Why the transport refused a whole incoming stream. */
export type StreamRejectReason =
  /** A request did not parse as a batch of messages (garbage on the stream). */
  | "unparsable"
  /** A request was larger than `maxMessageBytes`. */
  | "too-large"
  /** mTLS identity checks are on, and the stream came without a client certificate. */
  | "unauthenticated"
  /** The client certificate does not name the sender of the stream's messages. */
  | "identity"
  /** Messages from more than one sender on one stream. */
  | "mixed-senders"
  /** The stream named another cluster than this node's, or none (`clusterId`). */
  | "cluster"
  /** The transport was not started yet, or is closing. */
  | "unavailable";

export interface MessageCounters {
  readonly messages: number;
  readonly bytes: number;
}

export type CountersByType = Readonly<Partial<Record<MessageType, MessageCounters>>>;

/** What the transport knows about one peer. */
export interface PeerMetrics {
  /** The base URL the peer is dialled at. */
  readonly address: string;
  /** Messages written to the peer's streams, and their bytes, by type. */
  readonly sent: CountersByType;
  /** Messages received from the peer and handed to the engine, and their bytes, by type. */
  readonly received: CountersByType;
  /** Messages to the peer dropped instead of sent, by reason. */
  readonly dropped: Readonly<Partial<Record<SendDropReason, number>>>;
  /** Messages from the peer dropped on receipt, by reason ("malformed" ones are decode errors). */
  readonly rejected: Readonly<Partial<Record<ReceiveRejectReason, number>>>;
  /** Streams to the peer that failed (refused, reset, timed out). */
  readonly streamFailures: number;
  /** Streams to the peer opened again after a failure (after the backoff). */
  readonly reconnects: number;
  /** What is queued for the peer's message stream now. */
  readonly queued: QueueDepth;
  /** What is queued for the peer's snapshot stream now. */
  readonly queuedSnapshotChunks: QueueDepth;
}

export interface QueueDepth {
  readonly messages: number;
  readonly bytes: number;
}

/** Everything `RaftTransport.metrics()` reports. */
export interface TransportMetrics {
  /** Per peer of the peer map. */
  readonly peers: Readonly<Record<NodeId, PeerMetrics>>;
  /** Messages dropped because their recipient is not in the peer map. */
  readonly droppedToUnknownPeers: number;
  /** Messages received from senders that are not in the peer map, by type. */
  readonly receivedFromUnknownPeers: CountersByType;
  /** Messages or requests received that failed to decode, from anyone. */
  readonly decodeErrors: number;
  /** Incoming streams refused, by reason. */
  readonly rejectedStreams: Readonly<Partial<Record<StreamRejectReason, number>>>;
  /** Incoming streams being served now. */
  readonly activeStreams: number;
}

/** Mutable counters by message type. */
export class TypeCounters {
  private readonly counters = new Map<MessageType, { messages: number; bytes: number }>();

  add(type: MessageType, bytes: number): void {
    const counter = this.counters.get(type);
    if (counter === undefined) this.counters.set(type, { messages: 1, bytes });
    else {
      counter.messages++;
      counter.bytes += bytes;
    }
  }

  snapshot(): CountersByType {
    const out: Partial<Record<MessageType, MessageCounters>> = {};
    for (const [type, counter] of this.counters) out[type] = { ...counter };
    return out;
  }
}

/** Mutable counters by reason. */
export class ReasonCounters<R extends string> {
  private readonly counters = new Map<R, number>();

  add(reason: R, count = 1): void {
    this.counters.set(reason, (this.counters.get(reason) ?? 0) + count);
  }

  snapshot(): Readonly<Partial<Record<R, number>>> {
    return Object.fromEntries(this.counters) as Partial<Record<R, number>>;
  }
}

/** The counters kept per peer; the queue gauges are read from the queues themselves. */
export class PeerCounters {
  readonly sent = new TypeCounters();
  readonly received = new TypeCounters();
  readonly dropped = new ReasonCounters<SendDropReason>();
  readonly rejected = new ReasonCounters<ReceiveRejectReason>();
  streamFailures = 0;
  reconnects = 0;
}
