import type { NodeId } from "./log-types.js";
import type { Message } from "./messages.js";

/** What a transport calls on the node that started it. */
export interface TransportHandler {
  /**
   * A message arrived from a peer. The node validates it before use, so a transport may pass on
   * whatever it decoded; it need not (and should not) interpret it.
   */
  onMessage(message: Message): void;
  /**
   * The transport could not deliver to `peer` (refused, timed out, queue full) and dropped at
   * least one message. The node slows replication to that peer until it hears from it again.
   */
  onUnreachable(peer: NodeId): void;
}

/**
 * How nodes exchange messages. Messages may be lost, duplicated, delayed and reordered: the
 * protocol tolerates all of it. A transport should keep snapshot chunks (`isBulkMessage`) on a
 * stream of their own, so heartbeats never wait behind megabytes of snapshot.
 */
export interface Transport {
  /** Begins delivering incoming messages to `handler`. Called once, by the node's `start()`. */
  start(handler: TransportHandler): void;
  /** Queues a message for `message.to`. Never blocks, and never throws for network failures. */
  send(message: Message): void;
  /** Stops delivering messages and releases connections. */
  close(): Promise<void>;
}
