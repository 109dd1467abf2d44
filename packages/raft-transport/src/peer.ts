import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeId } from "@raftstore/raft";
import { streamRequestHeaders } from "./client-stream.js";
import { PeerCounters, type PeerMetrics } from "./metrics.js";
import type { ResolvedTransportOptions } from "./options.js";
import { OutboundStream } from "./outbound-stream.js";
import { GuardedSessionManager } from "./session-manager.js";
import { clientTlsOptions } from "./tls.js";
import { installSnapshotMethod, sendMessagesMethod } from "./wire-format.js";

/** Milliseconds on the monotonic clock (stream lifetimes for the backoff; never wall time). */
const now = () => performance.now();

/**
 * One peer as the sender sees it: one HTTP/2 connection (an Http2SessionManager, which opens
 * it on demand, keeps it alive with PINGs and reopens it after a failure) carrying two streams,
 * one for small messages and one for snapshot chunks, each with its own bounded queue. HTTP/2
 * interleaves the streams frame by frame, so a heartbeat written while a megabyte chunk is on
 * its way goes out between two of the chunk's frames instead of after all of them.
 */
export class Peer {
  readonly id: NodeId;
  readonly address: string;
  /** Survives address changes (`setPeers` passes it on), so counters do not reset. */
  readonly counters: PeerCounters;
  readonly messages: OutboundStream;
  readonly snapshots: OutboundStream;
  private readonly sessions: GuardedSessionManager;

  constructor(
    id: NodeId,
    address: string,
    options: ResolvedTransportOptions,
    onFailure: (peer: NodeId) => void,
    counters = new PeerCounters(),
  ) {
    this.id = id;
    this.address = address;
    this.counters = counters;
    this.sessions = new GuardedSessionManager(
      id,
      options.logger,
      address,
      {
        pingIntervalMs: options.pingIntervalMs,
        pingTimeoutMs: options.pingTimeoutMs,
        // While its message stream is open a connection is never idle (and PINGs run); this
        // only closes the connection to a peer nothing was sent to in a long while.
        idleConnectionTimeoutMs: 15 * 60_000,
      },
      options.tls === undefined ? undefined : clientTlsOptions(options.tls, id, address),
    );
    const connectTimeoutMs = options.connectTimeoutMs;
    const common = {
      peer: id,
      sessions: this.sessions,
      requestHeaders: streamRequestHeaders(options.clusterId),
      connect: (signal: AbortSignal) => this.connect(signal, connectTimeoutMs),
      backoff: options.backoff,
      random: options.random,
      now,
      counters,
      logger: options.logger,
      onFailure: () => onFailure(id),
    };
    this.messages = new OutboundStream({
      ...common,
      kind: "messages",
      method: sendMessagesMethod,
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      batch: {
        maxBytes: options.maxMessageBytes,
        maxMessages: Number.POSITIVE_INFINITY,
        endAfterLast: false,
      },
    });
    this.snapshots = new OutboundStream({
      ...common,
      kind: "snapshots",
      method: installSnapshotMethod,
      maxQueuedMessages: options.maxQueuedSnapshotChunks,
      maxQueuedBytes: options.maxQueuedSnapshotBytes,
      batch: { maxBytes: options.maxMessageBytes, maxMessages: 1, endAfterLast: true },
    });
  }

  /**
   * Waits until the connection is up (TCP, TLS and the HTTP/2 preface), for at most
   * `timeoutMs`: a peer behind a partition that drops packets would otherwise hold a stream in
   * the kernel's connect timeout (minutes) instead of the backoff. Once up, keepalive PINGs
   * watch the connection.
   */
  private async connect(signal: AbortSignal, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ConnectError(
          `could not connect to ${this.address} within ${timeoutMs} ms`,
          Code.Unavailable,
        );
        this.sessions.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const state = await Promise.race([this.sessions.connect(), timedOut, aborted]);
      if (state === "error") {
        throw ConnectError.from(this.sessions.error() ?? "connection failed", Code.Unavailable);
      }
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    }
  }

  /** Ends both streams, drops what they queued, and closes the connection. */
  async close(): Promise<void> {
    const streams = Promise.all([this.messages.close(), this.snapshots.close()]);
    this.sessions.abort();
    await streams;
  }

  metrics(): PeerMetrics {
    return {
      address: this.address,
      sent: this.counters.sent.snapshot(),
      received: this.counters.received.snapshot(),
      dropped: this.counters.dropped.snapshot(),
      rejected: this.counters.rejected.snapshot(),
      streamFailures: this.counters.streamFailures,
      reconnects: this.counters.reconnects,
      queued: { messages: this.messages.queue.length, bytes: this.messages.queue.bytes },
      queuedSnapshotChunks: {
        messages: this.snapshots.queue.length,
        bytes: this.snapshots.queue.bytes,
      },
    };
  }
}
