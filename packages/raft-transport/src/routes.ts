import type { ConnectRouter } from "@connectrpc/connect";
import { InvalidTransportOptionsError } from "./errors.js";
import { internalsOf, type RaftTransport } from "./transport.js";
import { installSnapshotMethod, sendMessagesMethod } from "./wire-format.js";

/** Options of `createRaftServiceRoutes`. */
export interface RaftServiceRoutesOptions {
  /**
   * The transport (from `createRaftTransport`) whose `start(handler)` receives the messages. Its
   * options decide the routes' limits: requests over `maxMessageBytes` are refused, and with
   * `tls` every stream needs an authorized client certificate (naming the sender, with
   * `verifyPeerIdentity`), handed over by `raftContextValues`.
   */
  readonly transport: RaftTransport;
}

/**
 * The receiving side of a node's transport, as Connect routes: `raftstore.raft.v1.RaftService`
 * (SendMessages and InstallSnapshot), for the node's HTTP/2 server to mount next to its other
 * services:
 *
 * ```ts
 * http2.createSecureServer(serverTlsOptions(tls), connectNodeAdapter({
 *   routes: createRaftServiceRoutes({ transport }),
 *   contextValues: raftContextValues,
 * }));
 * ```
 *
 * Until the transport is started, and once it is closed, streams are refused with Unavailable
 * (senders back off and retry). Throws InvalidTransportOptionsError for a transport that
 * `createRaftTransport` did not make.
 */
export function createRaftServiceRoutes(
  options: RaftServiceRoutesOptions,
): (router: ConnectRouter) => void {
  const transport = internalsOf(options.transport);
  if (transport === undefined) {
    throw new InvalidTransportOptionsError(
      "expected a transport made by createRaftTransport, found another object",
    );
  }
  const { inbound } = transport;
  // Connect applies readMaxBytes to each request (a batch, or a chunk); the sender never builds
  // a larger one, so only a peer with another limit (or a hostile one) meets ResourceExhausted.
  const limits = { readMaxBytes: transport.options.maxMessageBytes };
  return (router) => {
    router.rpc(
      sendMessagesMethod,
      async (requests, context) => {
        await inbound.receive("messages", requests, context);
        return {};
      },
      limits,
    );
    router.rpc(
      installSnapshotMethod,
      async (requests, context) => {
        await inbound.receive("snapshots", requests, context);
        return {};
      },
      limits,
    );
  };
}
