import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { EncodedRaftMessages } from "@raftstore/proto/raft/v1";
import type { Logger, Message, NodeId, TransportHandler } from "@raftstore/raft";
import { clusterIdHeader } from "./client-stream.js";
import { decodeMessageBytes } from "./decode-message.js";
import { isMessageDecodeError, PeerIdentityError } from "./errors.js";
import { FailureLog } from "./failure-log.js";
import {
  type PeerCounters,
  ReasonCounters,
  type StreamRejectReason,
  TypeCounters,
} from "./metrics.js";
import type { StreamKind } from "./outbound-stream.js";
import { type PeerTlsInfo, peerTlsKey } from "./tls.js";
import { framedSize } from "./wire-format.js";

export interface InboundOptions {
  /** This node: messages to anyone else are dropped. */
  readonly id: NodeId;
  /** Streams must come with an authorized client certificate (the transport uses TLS). */
  readonly requireTls: boolean;
  /** The certificate must name the sender of the stream's messages. */
  readonly verifyPeerIdentity: boolean;
  /** Streams must name this cluster (RaftTransportOptions.clusterId); undefined: not checked. */
  readonly clusterId: string | undefined;
  readonly logger: Logger;
  /** The counters of a peer of the peer map, or undefined for a sender not in it. */
  readonly countersOf: (peer: NodeId) => PeerCounters | undefined;
}

/**
 * One open incoming stream, whichever server path reads it: the path hands it each request's
 * messages as they arrive, and tells it how the requests ended.
 */
export interface InboundStream {
  /**
   * Delivers the messages of one request, in order. Throws the ConnectError to end the stream
   * with when the stream cannot go on (a certificate that does not name the sender, messages
   * from two senders).
   */
  receive(messages: readonly Uint8Array[]): void;
  /**
   * The requests failed to arrive (they did not parse, one was over the limit, the connection
   * went): counts and logs it, and returns the error to end the stream with. With `count`
   * false it only returns the error, for a caller that learns later whether to count it.
   */
  failed(error: unknown, count?: boolean): unknown;
  /** The stream is over, one way or another: it no longer counts as open. Idempotent. */
  done(): void;
}

/** Everything a stream has established so far. */
interface StreamState {
  readonly kind: StreamKind;
  readonly tlsInfo: PeerTlsInfo | undefined;
  /** The sender of every message on the stream, fixed by the first one. */
  sender: NodeId | undefined;
}

/**
 * The receiving half of the transport: what the routes do with each incoming stream. Each
 * message is parsed, decoded and checked on its own; a bad one is dropped, counted and logged,
 * and the stream goes on. The whole stream is refused (with a Connect error the sender sees)
 * only when it cannot go on: a request that does not parse, a certificate that does not name
 * the sender, messages from two senders, or a node that is not started or is closing.
 */
export class Inbound {
  readonly rejectedStreams = new ReasonCounters<StreamRejectReason>();
  readonly fromUnknownPeers = new TypeCounters();
  decodeErrors = 0;
  private readonly o: InboundOptions;
  private handler: TransportHandler | undefined;
  private closed = false;
  /** When refusals are worth a warning, by reason. */
  private readonly rejectLogs = new Map<StreamRejectReason, FailureLog>();
  /** How to end each open stream from this side. */
  private readonly active = new Set<(error: ConnectError) => void>();

  constructor(options: InboundOptions) {
    this.o = options;
  }

  get activeStreams(): number {
    return this.active.size;
  }

  start(handler: TransportHandler): void {
    this.handler = handler;
  }

  /** Refuses new streams and ends the open ones (their senders see Unavailable). */
  close(): void {
    this.closed = true;
    for (const end of [...this.active]) {
      end(new ConnectError(`raft node ${this.o.id} is closing`, Code.Unavailable));
    }
  }

  /**
   * Opens an incoming stream whose client presented `tlsInfo` (undefined on plaintext) and
   * named the cluster `clusterId` (undefined: no `raftstore-cluster-id` header), or throws the
   * ConnectError to refuse it with. `end` ends the stream from this side (the node is closing);
   * it is called at most once, and never after `done()`.
   */
  open(
    kind: StreamKind,
    tlsInfo: PeerTlsInfo | undefined,
    clusterId: string | undefined,
    end: (error: ConnectError) => void,
  ): InboundStream {
    if (this.handler === undefined || this.closed) {
      throw this.reject(
        "unavailable",
        new ConnectError(
          `raft node ${this.o.id} is ${this.closed ? "closing" : "not started"}`,
          Code.Unavailable,
        ),
      );
    }
    if (this.o.requireTls) this.checkCertificate(tlsInfo);
    this.checkCluster(clusterId);
    const state: StreamState = { kind, tlsInfo, sender: undefined };
    // The stream is open while `endOnce` is in `active`.
    const endOnce = (error: ConnectError) => {
      if (this.active.delete(endOnce)) end(error);
    };
    this.active.add(endOnce);
    return {
      receive: (messages) => {
        if (!this.active.has(endOnce)) return;
        for (const bytes of messages) this.receiveOne(bytes, state);
      },
      failed: (error, count = true) => this.streamError(error, state, count),
      done: () => {
        this.active.delete(endOnce);
      },
    };
  }

  /**
   * Serves one incoming stream of connect's router until its sender ends it; throws to refuse
   * it or to end it.
   */
  async receive(
    kind: StreamKind,
    requests: AsyncIterable<EncodedRaftMessages>,
    context: HandlerContext,
  ): Promise<void> {
    // The read in progress, if any, is interrupted when the stream is ended from this side. A
    // fresh promise per read: racing every read against one long-lived promise would keep each
    // race's result (the request and the buffer its messages are views into) reachable for as
    // long as the stream stays open.
    let ended: ConnectError | undefined;
    let interrupt: ((reason: unknown) => void) | undefined;
    const clusterId = context.requestHeader.get(clusterIdHeader) ?? undefined;
    const stream = this.open(kind, context.values.get(peerTlsKey), clusterId, (error) => {
      ended = error;
      interrupt?.(error);
    });
    const iterator = requests[Symbol.asyncIterator]();
    try {
      for (;;) {
        let result: IteratorResult<EncodedRaftMessages>;
        try {
          if (ended !== undefined) throw ended;
          result = await new Promise<IteratorResult<EncodedRaftMessages>>((resolve, reject) => {
            interrupt = reject;
            iterator.next().then(resolve, reject);
          });
        } catch (error) {
          throw ended ?? stream.failed(error);
        } finally {
          interrupt = undefined;
        }
        if (result.done === true) return;
        stream.receive(result.value.messages);
      }
    } finally {
      stream.done();
    }
  }

  /**
   * A stream from another cluster is refused before any of its messages is read: a node that
   * took it would trust entries of another log at the same indexes and terms as its own.
   */
  private checkCluster(clusterId: string | undefined): void {
    const own = this.o.clusterId;
    if (own === undefined || clusterId === own) return;
    throw this.reject(
      "cluster",
      new ConnectError(
        clusterId === undefined
          ? `refused a raft stream that names no cluster: node ${this.o.id} belongs to cluster ${own}`
          : `refused a raft stream from a node of cluster ${clusterId}: node ${this.o.id} belongs to cluster ${own}. Either the two were started with different member lists or tokens (--initial-cluster, --initial-cluster-token: every member needs the same), or one runs on another cluster's data directory and must not join this one`,
        Code.FailedPrecondition,
      ),
    );
  }

  private checkCertificate(tlsInfo: PeerTlsInfo | undefined): void {
    if (tlsInfo === undefined) {
      throw this.reject(
        "unauthenticated",
        new ConnectError(
          "expected the client's TLS certificate in the request context, found none: serve the raft routes over TLS and mount them with contextValues: raftContextValues",
          Code.Unauthenticated,
        ),
      );
    }
    if (!tlsInfo.authorized) {
      throw this.reject(
        "unauthenticated",
        new ConnectError(
          `expected a client certificate signed by the cluster CA, found ${
            tlsInfo.authorizationError ?? "none"
          }`,
          Code.Unauthenticated,
        ),
      );
    }
  }

  private receiveOne(bytes: Uint8Array, stream: StreamState): void {
    let message: Message;
    try {
      message = decodeMessageBytes(bytes);
    } catch (error) {
      if (!isMessageDecodeError(error)) throw error;
      this.decodeErrors++;
      if (stream.sender !== undefined) {
        this.o.countersOf(stream.sender)?.rejected.add("malformed");
      }
      this.o.logger.warn(
        { node: this.o.id, from: stream.sender, stream: stream.kind, err: error },
        "raft transport: dropped a malformed message",
      );
      return;
    }
    if (stream.sender === undefined) {
      if (this.o.verifyPeerIdentity && !stream.tlsInfo?.nodeIds.includes(message.from)) {
        const error = new PeerIdentityError(message.from, stream.tlsInfo?.nodeIds ?? [], "client");
        throw this.reject("identity", new ConnectError(error.message, Code.PermissionDenied));
      }
      stream.sender = message.from;
    } else if (message.from !== stream.sender) {
      throw this.reject(
        "mixed-senders",
        new ConnectError(
          `expected every message on a stream to come from ${stream.sender}, found one from ${message.from}`,
          Code.InvalidArgument,
        ),
      );
    }
    const counters = this.o.countersOf(message.from);
    if (message.to !== this.o.id) {
      counters?.rejected.add("misaddressed");
      this.o.logger.warn(
        { node: this.o.id, from: message.from, to: message.to, type: message.type },
        "raft transport: dropped a message addressed to another node (is a peer address stale?)",
      );
      return;
    }
    if (stream.kind === "snapshots" && message.type !== "snapshotChunk") {
      counters?.rejected.add("wrong-stream");
      this.o.logger.warn(
        { node: this.o.id, from: message.from, type: message.type },
        "raft transport: dropped a message that is not a snapshot chunk from a snapshot stream",
      );
      return;
    }
    (counters?.received ?? this.fromUnknownPeers).add(message.type, framedSize(bytes.length));
    try {
      this.handler?.onMessage(message);
    } catch (error) {
      // The engine's handler must not throw; if it does, it is the engine's bug, reported here
      // rather than blamed on the peer (whose stream stays open).
      this.o.logger.error(
        { node: this.o.id, from: message.from, type: message.type, err: error },
        "raft transport: the message handler threw",
      );
    }
  }

  /** The error that ends a stream whose requests failed to arrive. */
  private streamError(error: unknown, stream: StreamState, count: boolean): unknown {
    const connectError = error instanceof ConnectError ? error : undefined;
    const log = { node: this.o.id, from: stream.sender, stream: stream.kind, err: error };
    // Connect reports a request that fails to parse as Internal ("parse binary: …"), as if the
    // server were at fault; it is the peer's, so the peer hears InvalidArgument.
    const unparsable =
      connectError?.code === Code.InvalidArgument ||
      (connectError?.code === Code.Internal && connectError.rawMessage.startsWith("parse binary"));
    if (unparsable) {
      if (count) {
        this.decodeErrors++;
        this.rejectedStreams.add("unparsable");
        this.o.logger.warn(log, "raft transport: refused a stream whose request does not parse");
      }
      return new ConnectError(
        `expected requests of serialized raft messages, found one that does not parse: ${connectError.rawMessage}`,
        Code.InvalidArgument,
        undefined,
        undefined,
        connectError,
      );
    }
    if (!count) return error;
    if (connectError?.code === Code.ResourceExhausted) {
      this.rejectedStreams.add("too-large");
      this.o.logger.warn(log, "raft transport: refused a stream with a request over the limit");
    } else {
      this.o.logger.debug(log, "raft transport: incoming stream ended");
    }
    return error;
  }

  /**
   * Counts a refused stream and logs it: the first of each reason at once, then at most one per
   * 30 s, counting those in between. A sender retries every second or two, so a node of another
   * cluster left running would otherwise write a warning that often, forever.
   */
  private reject(reason: StreamRejectReason, error: ConnectError): ConnectError {
    this.rejectedStreams.add(reason);
    let log = this.rejectLogs.get(reason);
    if (log === undefined) {
      log = new FailureLog();
      this.rejectLogs.set(reason, log);
    }
    const line = log.failed(performance.now());
    if (line !== undefined) {
      this.o.logger.warn(
        { node: this.o.id, reason, refused: line.failures, err: error },
        "raft transport: refused an incoming stream",
      );
    }
    return error;
  }
}
