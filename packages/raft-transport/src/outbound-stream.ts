import type * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger, NodeId } from "@raftstore/raft";
import { backoffDelay, type ResolvedBackoff } from "./backoff.js";
import { type BatchLimits, BatchSource } from "./batch-source.js";
import { runClientStream, type StreamSessions } from "./client-stream.js";
import { FailureLog } from "./failure-log.js";
import type { PeerCounters } from "./metrics.js";
import { type QueuedMessage, SendQueue } from "./send-queue.js";
import type { EncodedStreamMethod } from "./wire-format.js";

/** Which of a peer's two streams. */
export type StreamKind = "messages" | "snapshots";

/**
 * - idle: no stream open (nothing was queued yet, or the last stream ended cleanly);
 * - open: a stream is open and writes whatever is queued;
 * - backoff: the last stream failed; messages queue (bounded) until the wait is over;
 * - closed: for good.
 */
export type OutboundState = "idle" | "open" | "backoff" | "closed";

export interface OutboundStreamOptions {
  readonly peer: NodeId;
  readonly kind: StreamKind;
  readonly method: EncodedStreamMethod;
  /** The peer's HTTP/2 connection. */
  readonly sessions: StreamSessions;
  /** The headers of the stream's request (`streamRequestHeaders`). */
  readonly requestHeaders: http2.OutgoingHttpHeaders;
  /** Opens (or checks) the peer's connection; rejects when it cannot within its timeout. */
  readonly connect: (signal: AbortSignal) => Promise<void>;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly batch: BatchLimits;
  readonly backoff: ResolvedBackoff;
  readonly random: () => number;
  /** Milliseconds on a monotonic clock. */
  readonly now: () => number;
  readonly counters: PeerCounters;
  readonly logger: Logger;
  /** The stream failed: report the peer unreachable. */
  readonly onFailure: () => void;
}

/**
 * One long-lived client stream to one peer (its message stream or its snapshot stream), and
 * the bounded queue in front of it.
 *
 * The stream opens when the first message is queued and then stays open, writing batches as
 * they queue up (a snapshot stream ends after the last chunk of a snapshot). When it fails, for
 * whatever reason (connection refused, TLS refused, reset, a keepalive PING unanswered, the
 * peer refusing the stream), what is still queued is dropped, the peer is reported unreachable,
 * and the next stream opens after an exponential backoff with jitter. A stream that lived at
 * least `backoff.maxMs` resets the backoff: a connection that dies after a long healthy life is
 * retried at once, while a peer that refuses every stream is retried ever more slowly.
 *
 * No message is ever written twice (at most once): messages written to a stream that then
 * failed may or may not have arrived, and are not sent again. The engine retransmits what it
 * still needs.
 */
export class OutboundStream {
  readonly queue: SendQueue;
  private readonly o: OutboundStreamOptions;
  private currentState: OutboundState = "idle";
  private source: BatchSource | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Failed streams in a row, since the last stream that ended cleanly or lived long. */
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the failures it had are worth a warning (not every retry of a peer that is down). */
  private readonly failureLog = new FailureLog();

  /** The method's request path. */
  private readonly path: string;

  constructor(options: OutboundStreamOptions) {
    this.o = options;
    this.path = `/${options.method.parent.typeName}/${options.method.name}`;
    this.queue = new SendQueue(options.maxQueuedMessages, options.maxQueuedBytes);
  }

  get state(): OutboundState {
    return this.currentState;
  }

  /** Queues a serialized message; false when the queue is full (the caller drops it). */
  enqueue(message: QueuedMessage): boolean {
    if (this.currentState === "closed" || !this.queue.push(message)) return false;
    if (this.currentState === "idle") this.open();
    else if (this.currentState === "open") this.source?.wake();
    return true;
  }

  /**
   * Ends the stream and drops what is queued. Resolves once the stream has ended. The HTTP/2
   * session is the peer's to close.
   */
  async close(): Promise<void> {
    if (this.currentState !== "closed") {
      this.currentState = "closed";
      clearTimeout(this.timer);
      this.timer = undefined;
      const dropped = this.queue.clear().length;
      if (dropped > 0) this.o.counters.dropped.add("closed", dropped);
      this.source?.end();
      this.abort?.abort(new ConnectError("the raft transport is closing", Code.Canceled));
    }
    await this.running;
  }

  private open(): void {
    if (this.failures > 0) this.o.counters.reconnects++;
    this.currentState = "open";
    const source = new BatchSource(this.queue, this.o.batch, (taken) => {
      for (const m of taken) this.o.counters.sent.add(m.type, m.framed);
    });
    const abort = new AbortController();
    this.source = source;
    this.abort = abort;
    this.running = this.run(source, abort.signal, this.o.now());
  }

  private async run(source: BatchSource, signal: AbortSignal, startedAt: number): Promise<void> {
    let failure: unknown;
    try {
      await this.o.connect(signal);
      if (this.failures > 0) {
        this.o.logger.info(
          { peer: this.o.peer, stream: this.o.kind, afterFailures: this.failures },
          "raft transport: connected to peer again",
        );
      }
      await runClientStream(this.o.sessions, this.path, source, signal, this.o.requestHeaders);
      if (!source.completed && signal.aborted === false) {
        // A receiver answers only once the sender ends its requests; one that ends a stream
        // early is misbehaving, and reopening at once would spin. Back off as for a failure.
        failure = new ConnectError(
          "the peer ended the stream before the sender did",
          Code.FailedPrecondition,
        );
      }
    } catch (error) {
      failure = error;
    }
    source.end();
    this.ended(failure, startedAt);
  }

  private ended(failure: unknown, startedAt: number): void {
    this.source = undefined;
    this.abort = undefined;
    if (this.currentState === "closed") return;
    if (failure === undefined) {
      this.failures = 0;
      this.currentState = "idle";
      if (this.queue.length > 0) this.open();
      return;
    }
    this.o.counters.streamFailures++;
    const dropped = this.queue.clear().length;
    if (dropped > 0) this.o.counters.dropped.add("disconnected", dropped);
    const now = this.o.now();
    if (now - startedAt >= this.o.backoff.maxMs) this.failures = 0;
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.backoff, this.o.random());
    const line = this.failureLog.failed(now, { newRun: this.failures === 1, dropped });
    if (line !== undefined) {
      this.o.logger.warn(
        {
          peer: this.o.peer,
          stream: this.o.kind,
          err: failure,
          failuresInARow: this.failures,
          retryInMs: Math.round(delay),
          // Since the last warning, this failure included (one warning per 30 s at most).
          failures: line.failures,
          dropped: line.dropped,
        },
        "raft transport: stream to peer failed",
      );
    }
    this.currentState = "backoff";
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.currentState !== "backoff") return;
      this.currentState = "idle";
      if (this.queue.length > 0) this.open();
    }, delay);
    this.o.onFailure();
  }
}
