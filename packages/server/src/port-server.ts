import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { SecureContextOptions } from "node:tls";

/** A request handler that works for HTTP/1.1 and HTTP/2 (connectNodeAdapter returns one). */
export type UniversalHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** TLS for every connection of the port. */
export interface PortTlsOptions extends SecureContextOptions {
  /** Require and verify a client certificate signed by `ca` (mutual TLS). */
  requestClientCertificate: boolean;
}

export interface PortServerOptions {
  handler: UniversalHandler;
  /** With TLS, cleartext connections are refused: they would bypass client authentication. */
  tls?: PortTlsOptions;
  /** Called for a connection refused before it reached a protocol server. */
  onRefused?: (reason: string, remoteAddress: string | undefined) => void;
}

/** One TCP port that serves HTTP/1.1, HTTP/2 cleartext (prior knowledge) and TLS (h2 or http/1.1). */
export interface PortServer {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting connections, lets requests in flight finish (HTTP/2 sessions get a GOAWAY,
   * idle HTTP/1.1 connections close), and destroys what is still open after `graceMs`.
   */
  close(graceMs?: number): Promise<void>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const TLS_HANDSHAKE = 0x16;

type Protocol = "tls" | "h2c" | "http1" | "undecided";

/** Which protocol a connection speaks, from its first bytes. */
export function sniffProtocol(head: Buffer): Protocol {
  if (head.length === 0) return "undecided";
  if (head[0] === TLS_HANDSHAKE) return "tls";
  const n = Math.min(head.length, h2Preface.length);
  if (head.subarray(0, n).equals(h2Preface.subarray(0, n))) {
    return n === h2Preface.length ? "h2c" : "undecided";
  }
  return "http1";
}

/**
 * Creates a server that looks at the first bytes of each connection and hands the socket to the
 * HTTP/1.1, HTTP/2 or TLS server that speaks it. gRPC needs HTTP/2; gRPC-Web, the Connect
 * protocol, curl and browsers work over either.
 */
export function createPortServer(options: PortServerOptions): PortServer {
  const sockets = new Set<net.Socket>();
  const http1 = http.createServer(options.handler);
  const h2c = http2.createServer(options.handler);
  const secure =
    options.tls === undefined
      ? undefined
      : http2.createSecureServer(
          {
            ...options.tls,
            allowHTTP1: true,
            requestCert: options.tls.requestClientCertificate,
            rejectUnauthorized: options.tls.requestClientCertificate,
          },
          options.handler,
        );
  const sessions = new Set<http2.ServerHttp2Session>();
  for (const server of [h2c, secure]) {
    server?.on("session", (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
  }
  const refuse = (socket: net.Socket, reason: string) => {
    options.onRefused?.(reason, socket.remoteAddress);
    socket.destroy();
  };

  // With TLS every connection starts with a TLS handshake, and ALPN picks HTTP/2 or HTTP/1.1:
  // the secure server listens itself (a cleartext client fails the handshake). Without TLS the
  // first bytes decide: the HTTP/2 connection preface, or HTTP/1.1.
  const tcp = secure ?? net.createServer((socket) => sniff(socket));
  tcp.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  });
  secure?.on("tlsClientError", (error: Error, socket: net.Socket) =>
    options.onRefused?.(`TLS handshake failed: ${error.message}`, socket.remoteAddress),
  );

  function sniff(socket: net.Socket) {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const protocol = sniffProtocol(head);
      if (protocol === "undecided") return;
      socket.off("data", onData);
      socket.pause();
      // The bytes read so far go back to the socket's buffer. The HTTP/2 session drains that
      // buffer itself on its next tick (socket.read()), so the socket must stay paused for it;
      // the HTTP/1.1 server takes it from a flowing stream.
      socket.unshift(head);
      if (protocol === "tls") {
        refuse(socket, "TLS is not enabled on this node");
      } else if (protocol === "h2c") {
        h2c.emit("connection", socket);
      } else {
        http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          const address = tcp.address() as net.AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    async close(graceMs = 5000) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (secure === undefined) {
        h2c.close();
        http1.close();
      }
      for (const session of sessions) session.close();
      http1.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
