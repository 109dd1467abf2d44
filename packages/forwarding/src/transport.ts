import type * as http2 from "node:http2";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "./guarded-session-manager.js";
import { createUnaryGrpcTransport } from "./unary-grpc-transport.js";

/** Options of `createForwardingTransport`. */
export interface ForwardingTransportOptions {
  /** The leader's forwarding endpoint, such as `http://10.0.0.1:7001`. */
  baseUrl: string;
  /**
   * Send HTTP/2 PINGs this often while calls are open, and drop the connection (failing its
   * calls with InconsistentError) when one goes unanswered for `pingTimeoutMs`. Default: no
   * PINGs; the per-call timeout of the client is then what detects a silent leader.
   */
  pingIntervalMs?: number;
  /** How long a PING may go unanswered. Default 15000 ms (only with `pingIntervalMs`). */
  pingTimeoutMs?: number;
  /** Close the connection after this long without calls. Default 15 minutes. */
  idleConnectionTimeoutMs?: number;
  /**
   * Options of Node's `http2.connect`: TLS settings for an `https:` base URL, or
   * `createConnection` to open the socket yourself (to write a protocol prefix first, say).
   */
  nodeOptions?: http2.ClientSessionOptions | http2.SecureClientSessionOptions;
  /** Connect interceptors around every call (metrics, logging, credentials). */
  interceptors?: Interceptor[];
}

/** A gRPC transport to one leader, and the means to drop its connection. */
export interface ForwardingTransport {
  /** The transport to pass to `createForwardingClient`. */
  readonly transport: Transport;
  /**
   * Closes the HTTP/2 connection, failing the calls in flight (with InconsistentError, through a
   * ForwardingClient). Call it when the leader changes, or before closing a server the transport
   * is connected to: an open client session keeps that server's connection alive. A later call
   * on the transport opens a new connection.
   */
  close(): void;
}

/**
 * A gRPC (HTTP/2) transport to a leader's forwarding service, with a connection that can be
 * dropped. This is what a node's `dialLeader()` can return, keeping the `close()` for when
 * the leader changes.
 */
export function createForwardingTransport(
  options: ForwardingTransportOptions,
): ForwardingTransport {
  const sessionManager = new GuardedSessionManager(
    options.baseUrl,
    {
      pingIntervalMs: options.pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs,
      idleConnectionTimeoutMs: options.idleConnectionTimeoutMs,
    },
    options.nodeOptions,
  );
  const connectTransport = createGrpcTransport({
    baseUrl: options.baseUrl,
    sessionManager,
    interceptors: options.interceptors,
  });
  // Interceptors are connect's business: with any, every call goes through connect.
  const transport =
    options.interceptors === undefined || options.interceptors.length === 0
      ? createUnaryGrpcTransport({
          baseUrl: options.baseUrl,
          sessionManager,
          fallback: connectTransport,
        })
      : connectTransport;
  return { transport, close: () => sessionManager.abort() };
}
