import {
  isBulkMessage,
  type Message,
  type NodeId,
  type Transport,
  type TransportHandler,
} from "@raftstore/raft";
import { MessageTooLargeError } from "./errors.js";
import { Inbound } from "./inbound.js";
import type { TransportMetrics } from "./metrics.js";
import {
  type PeerAddresses,
  type RaftTransportOptions,
  type ResolvedTransportOptions,
  resolvePeers,
  resolveTransportOptions,
} from "./options.js";
import { Peer } from "./peer.js";
import { serializeMessage } from "./serialize-message.js";
import { framedSize } from "./wire-format.js";

/** The engine's Transport over Connect-RPC, for one node. */
export interface RaftTransport extends Transport {
  /** This node's id. */
  readonly id: NodeId;
  /**
   * Replaces the peer map (membership changes). A peer whose address changed gets a new
   * connection; a removed peer's streams and connection close and what was queued for it is
   * dropped. Throws InvalidTransportOptionsError, changing nothing, on a bad map.
   */
  setPeers(peers: PeerAddresses): void;
  /** A fresh snapshot of the transport's counters and gauges. */
  metrics(): TransportMetrics;
}

/** What the routes need from the transport they deliver to. */
export interface TransportInternals {
  readonly inbound: Inbound;
  readonly options: ResolvedTransportOptions;
}

const internals = new WeakMap<RaftTransport, TransportInternals>();

/** The internals of a transport made by `createRaftTransport`, or undefined. */
export function internalsOf(transport: RaftTransport): TransportInternals | undefined {
  return internals.get(transport);
}

/**
 * Creates the transport of node `options.id`. Sending starts at once (connections open on the
 * first message to each peer); receiving starts with `start(handler)`, through the routes of
 * `createRaftServiceRoutes({ transport })` mounted on the node's HTTP/2 server.
 *
 * `send` never blocks and never throws: it serializes the message, checks its size and queues
 * it for the peer's stream; a message it cannot send is dropped, counted, and (when the peer is
 * at fault: its queue is full, its stream failed) reported with `onUnreachable`, always after
 * `send` returned, never from inside it. Throws InvalidTransportOptionsError on bad options.
 */
export function createRaftTransport(options: RaftTransportOptions): RaftTransport {
  const transport = new RaftTransportImpl(resolveTransportOptions(options), options.peers);
  internals.set(transport, { inbound: transport.inbound, options: transport.options });
  return transport;
}

class RaftTransportImpl implements RaftTransport {
  readonly id: NodeId;
  readonly options: ResolvedTransportOptions;
  readonly inbound: Inbound;
  private readonly peers = new Map<NodeId, Peer>();
  /** Peers replaced or removed by setPeers whose streams are still closing. */
  private readonly closing = new Set<Promise<void>>();
  private handler: TransportHandler | undefined;
  private closed: Promise<void> | undefined;
  private droppedToUnknownPeers = 0;
  private readonly unreachable = new Set<NodeId>();
  private reportScheduled = false;
  /** Peers whose queue overflowed since their last accepted message (logged once per episode). */
  private readonly overflowing = new Set<NodeId>();

  constructor(options: ResolvedTransportOptions, peers: PeerAddresses) {
    this.id = options.id;
    this.options = options;
    this.inbound = new Inbound({
      id: options.id,
      requireTls: options.tls !== undefined,
      verifyPeerIdentity: options.verifyPeerIdentity,
      clusterId: options.clusterId,
      logger: options.logger,
      countersOf: (peer) => this.peers.get(peer)?.counters,
    });
    for (const [id, address] of resolvePeers(peers, options)) {
      this.peers.set(id, this.newPeer(id, address));
    }
  }

  start(handler: TransportHandler): void {
    this.handler = handler;
    this.inbound.start(handler);
  }

  send(message: Message): void {
    if (this.closed !== undefined) return;
    const peer = this.peers.get(message.to);
    if (peer === undefined) {
      this.droppedToUnknownPeers++;
      this.options.logger.debug(
        { node: this.id, to: message.to, type: message.type },
        "raft transport: dropped a message to a node not in the peer map",
      );
      this.reportUnreachable(message.to);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(message);
    } catch (error) {
      peer.counters.dropped.add("invalid-message");
      this.options.logger.error(
        { node: this.id, to: message.to, type: message.type, err: error },
        "raft transport: dropped a message that cannot be encoded",
      );
      return;
    }
    const framed = framedSize(bytes.length);
    if (framed > this.options.maxMessageBytes) {
      peer.counters.dropped.add("too-large");
      const error = new MessageTooLargeError(
        `${message.type} message from ${message.from} to ${message.to}`,
        framed,
        this.options.maxMessageBytes,
      );
      this.options.logger.error(
        { node: this.id, to: message.to, type: message.type, err: error },
        error.message,
      );
      return;
    }
    const stream = isBulkMessage(message) ? peer.snapshots : peer.messages;
    const last = message.type === "snapshotChunk" && message.last;
    if (stream.enqueue({ type: message.type, bytes, framed, last })) {
      this.overflowing.delete(peer.id);
      return;
    }
    peer.counters.dropped.add("queue-full");
    if (!this.overflowing.has(peer.id)) {
      this.overflowing.add(peer.id);
      this.options.logger.warn(
        {
          node: this.id,
          peer: peer.id,
          queued: stream.queue.length,
          queuedBytes: stream.queue.bytes,
        },
        "raft transport: queue to peer is full, dropping messages (the peer is slow or unreachable)",
      );
    }
    this.reportUnreachable(peer.id);
  }

  setPeers(peers: PeerAddresses): void {
    const next = resolvePeers(peers, this.options);
    if (this.closed !== undefined) return;
    for (const [id, peer] of this.peers) {
      const address = next.get(id);
      if (address === peer.address) continue;
      this.retire(peer);
      if (address === undefined) this.peers.delete(id);
      else this.peers.set(id, this.newPeer(id, address, peer));
    }
    for (const [id, address] of next) {
      if (!this.peers.has(id)) this.peers.set(id, this.newPeer(id, address));
    }
  }

  metrics(): TransportMetrics {
    const peers: Record<NodeId, ReturnType<Peer["metrics"]>> = {};
    for (const [id, peer] of this.peers) peers[id] = peer.metrics();
    return {
      peers,
      droppedToUnknownPeers: this.droppedToUnknownPeers,
      receivedFromUnknownPeers: this.inbound.fromUnknownPeers.snapshot(),
      decodeErrors: this.inbound.decodeErrors,
      rejectedStreams: this.inbound.rejectedStreams.snapshot(),
      activeStreams: this.inbound.activeStreams,
    };
  }

  close(): Promise<void> {
    if (this.closed === undefined) {
      this.inbound.close();
      const peers = [...this.peers.values()].map((peer) => peer.close());
      this.closed = Promise.all([...peers, ...this.closing]).then(() => undefined);
    }
    return this.closed;
  }

  private newPeer(id: NodeId, address: string, previous?: Peer): Peer {
    return new Peer(
      id,
      address,
      this.options,
      (peer) => this.reportUnreachable(peer),
      previous?.counters,
    );
  }

  private retire(peer: Peer): void {
    const closing = peer.close();
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  /**
   * Tells the engine, soon but never synchronously (the engine may be inside `send`), that a
   * peer missed messages. Reports for one peer coalesce until they are delivered.
   */
  private reportUnreachable(peer: NodeId): void {
    if (this.handler === undefined) return;
    this.unreachable.add(peer);
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    queueMicrotask(() => {
      this.reportScheduled = false;
      const peers = [...this.unreachable];
      this.unreachable.clear();
      if (this.closed !== undefined) return;
      for (const id of peers) this.handler?.onUnreachable(id);
    });
  }
}
