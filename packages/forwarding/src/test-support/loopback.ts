import * as net from "node:net";
import { createForwardingClient, type ForwardingClientOptions } from "../client.js";
import type { ForwardingTarget } from "../routes.js";
import {
  createForwardingServer,
  type ForwardingServer,
  type ForwardingServerOptions,
} from "../server.js";
import { createForwardingTransport, type ForwardingTransport } from "../transport.js";

/** A forwarding server on a real loopback socket, and a transport to it. */
export interface Loopback {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** The port the listener got. */
  port: number;
  /** The forwarding server every accepted socket is handed to. */
  server: ForwardingServer;
  /** A transport to the listener, with its own HTTP/2 session. */
  transport: ForwardingTransport;
  /** How many sockets the listener accepted. */
  accepted(): number;
  /** Closes the transport, the forwarding server and the listener, in that order. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and hands every accepted socket to a forwarding server,
 * as a node that owns its port does.
 */
export async function startLoopback(
  target: ForwardingTarget,
  serverOptions: ForwardingServerOptions = {},
): Promise<Loopback> {
  const server = createForwardingServer(target, serverOptions);
  let accepted = 0;
  const listener = net.createServer((socket) => {
    accepted++;
    server.handleConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = listener.address() as net.AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const transport = createForwardingTransport({ baseUrl });
  return {
    baseUrl,
    port,
    server,
    transport,
    accepted: () => accepted,
    async close() {
      // The client's session first: an open HTTP/2 session would keep the listener from
      // closing (the Http2SessionManager gotcha).
      transport.close();
      await server.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** A client over the loopback's transport. */
export function clientOf(loopback: Loopback, options?: ForwardingClientOptions) {
  return createForwardingClient(loopback.transport.transport, options);
}

/** A loopback port nothing listens on (one the system just handed out and got back). */
export async function freePort(): Promise<number> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", () => resolve()));
  const { port } = listener.address() as net.AddressInfo;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  return port;
}
