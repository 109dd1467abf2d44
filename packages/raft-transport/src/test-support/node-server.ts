import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createRaftServiceRoutes } from "../routes.js";
import { createRaftStreamHandler } from "../stream-handler.js";
import type { TransportTlsOptions } from "../tls.js";
import { raftContextValues, type ServerTlsOptions, serverTlsOptions } from "../tls.js";
import type { RaftTransport } from "../transport.js";

// The smallest node server: one HTTP/2 listener on 127.0.0.1 mounting the raft routes, as the
// server package does next to its other services.
//
// Streams are received as a node receives them, by createRaftStreamHandler in front of
// connect's routes. With RAFTSTORE_TEST_RAFT_RECEIVER=connect (the second vitest project of
// this package) connect's routes receive them instead: the suites run against both paths.

/** Which path receives the raft streams: the lean handler, or connect's routes. */
export type Receiver = "lean" | "connect";

export const defaultReceiver: Receiver =
  process.env.RAFTSTORE_TEST_RAFT_RECEIVER === "connect" ? "connect" : "lean";

export interface NodeServerOptions {
  /** Serve over mutual TLS with these settings (the node's own). */
  readonly tls?: TransportTlsOptions;
  readonly serverTls?: ServerTlsOptions;
  /** Listen on this port (a restart on the same address); default: any free port. */
  readonly port?: number;
  /** Default: `defaultReceiver`. */
  readonly receiver?: Receiver;
}

export interface NodeServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, or `https://…` with TLS. */
  readonly baseUrl: string;
  /** HTTP/2 sessions open now. */
  sessions(): number;
  /** TLS handshakes the server refused (client certificates missing or not signed by the CA). */
  tlsFailures(): number;
  /** Destroys every open session at once: a connection dropped mid-stream. */
  dropConnections(): void;
  /** Destroys the sessions and stops listening: the process died. */
  close(): Promise<void>;
}

export async function startNodeServer(
  transport: RaftTransport,
  options: NodeServerOptions = {},
): Promise<NodeServer> {
  const adapter = connectNodeAdapter({
    routes: createRaftServiceRoutes({ transport }),
    contextValues: (request) => raftContextValues(request),
  });
  const handler =
    (options.receiver ?? defaultReceiver) === "lean"
      ? createRaftStreamHandler({ transport, fallback: adapter })
      : adapter;
  const server =
    options.tls === undefined
      ? http2.createServer(handler)
      : http2.createSecureServer(serverTlsOptions(options.tls, options.serverTls), handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  let tlsFailures = 0;
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("tlsClientError", () => {
    tlsFailures++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const dropConnections = () => {
    for (const session of sessions) session.destroy();
  };
  return {
    port,
    baseUrl: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    sessions: () => sessions.size,
    tlsFailures: () => tlsFailures,
    dropConnections,
    close: () => {
      dropConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
