import * as http2 from "node:http2";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createForwardingRoutes, type ForwardingTarget } from "./routes.js";
import { createUnaryGrpcHandler } from "./unary-grpc-handler.js";

/** Options of `createForwardingServer`. */
export interface ForwardingServerOptions {
  /**
   * How long `close()` lets requests already in flight finish before it ends their sessions
   * (their followers then see an InconsistentError). Default 1000 ms; 0 ends them at once.
   */
  closeGracePeriodMs?: number;
  /**
   * The largest request message accepted, in bytes; a larger one is answered with
   * ResourceExhausted and never reaches the target. Default: Connect's limit (about 4 GiB).
   */
  readMaxBytes?: number;
  /** Connect interceptors around every forwarded call (metrics, logging, authorization). */
  interceptors?: Interceptor[];
}

/**
 * The leader's end of the forwarding service: serves HTTP/2 without TLS (h2c) on connections
 * someone else accepted.
 */
export interface ForwardingServer {
  /**
   * Serves the forwarding service on `socket` until the peer or `close()` ends it. The socket
   * may be a `net.Socket`, a `tls.TLSSocket` or any Duplex (one a multiplexer read a prefix from,
   * say); TLS, if any, is the caller's. After `close()` the socket is destroyed at once.
   */
  handleConnection(socket: Duplex): void;
  /**
   * Stops serving: refuses new connections, asks open sessions to finish (an HTTP/2 GOAWAY, so
   * clients open no new requests on them), and ends whatever is still open after
   * `closeGracePeriodMs`, aborting the target calls in flight. Resolves once every session has
   * closed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Creates the leader side of forwarding: the routes of `createForwardingRoutes(target)`, served
 * over gRPC (and the Connect and gRPC-Web protocols) on every connection handed to
 * `handleConnection`.
 *
 * No port is opened here: the node owns its listener (one port for everything, as Consul's
 * servers do) and hands over the connections that are for forwarding.
 */
export function createForwardingServer(
  target: ForwardingTarget,
  options: ForwardingServerOptions = {},
): ForwardingServer {
  const gracePeriodMs = options.closeGracePeriodMs ?? 1000;
  if (!(Number.isFinite(gracePeriodMs) && gracePeriodMs >= 0)) {
    throw new RangeError(`closeGracePeriodMs must be 0 or more milliseconds, got ${gracePeriodMs}`);
  }
  const routes = createForwardingRoutes(target);
  const handler = createUnaryGrpcHandler({
    routes,
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    fallback: (registered) =>
      connectNodeAdapter({
        routes: registered,
        interceptors: options.interceptors,
        readMaxBytes: options.readMaxBytes,
      }),
  });
  const http2Server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  let closed: Promise<void> | undefined;

  http2Server.on("session", (session) => {
    if (closed !== undefined) {
      session.destroy();
      return;
    }
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  return {
    handleConnection(socket) {
      if (closed !== undefined) {
        socket.destroy();
        return;
      }
      // Small gRPC frames must not wait for Nagle's algorithm (up to 40 ms with delayed ACKs).
      if (socket instanceof Socket) socket.setNoDelay(true);
      // The documented way to serve a connection accepted elsewhere: the http2 server wraps it
      // in a session exactly as if its own listener had accepted it.
      http2Server.emit("connection", socket);
    },
    close() {
      closed ??= Promise.all([...sessions].map((s) => closeSession(s, gracePeriodMs))).then(
        () => undefined,
      );
      return closed;
    },
  };
}

function closeSession(session: http2.ServerHttp2Session, gracePeriodMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (session.destroyed) {
      resolve();
      return;
    }
    session.once("close", () => resolve());
    if (gracePeriodMs <= 0) {
      session.destroy();
      return;
    }
    const timer = setTimeout(() => session.destroy(), gracePeriodMs);
    session.once("close", () => clearTimeout(timer));
    session.close();
  });
}
