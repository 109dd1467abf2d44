// biome-ignore-all assist/source/organizeImports: the public API is curated, end-user symbols first
// @raftstore/raft-transport — the Raft engine's network transport over Connect-RPC (gRPC over
// HTTP/2), with mutual TLS.
//
// End-user API first: create a node's transport, mount its routes on the node's HTTP/2 server,
// set up TLS, read its metrics and errors. Library symbols (the codec and the wire format)
// follow.

export { createRaftTransport, type RaftTransport } from "./transport.js";
export type { PeerAddresses, RaftTransportOptions } from "./options.js";
export type { BackoffOptions } from "./backoff.js";
export { createRaftServiceRoutes, type RaftServiceRoutesOptions } from "./routes.js";
export { createRaftStreamHandler, type RaftStreamHandlerOptions } from "./stream-handler.js";
export {
  clientTlsOptions,
  nodeIdentityUri,
  nodeIdsOfCertificate,
  type NodeServerRequest,
  type PeerTlsInfo,
  peerTlsKey,
  raftContextValues,
  type ServerTlsOptions,
  serverTlsOptions,
  type TransportTlsOptions,
} from "./tls.js";
export type {
  CountersByType,
  MessageCounters,
  PeerMetrics,
  QueueDepth,
  ReceiveRejectReason,
  SendDropReason,
  StreamRejectReason,
  TransportMetrics,
} from "./metrics.js";
export {
  InvalidTransportOptionsError,
  isInvalidTransportOptionsError,
  isMessageDecodeError,
  isMessageEncodeError,
  isMessageTooLargeError,
  isPeerIdentityError,
  MessageDecodeError,
  MessageEncodeError,
  MessageTooLargeError,
  PeerIdentityError,
  type TransportErrorName,
} from "./errors.js";

// Library symbols: the mapping to raftstore.raft.v1, and how messages sit in requests.
export { decodeMessage, decodeMessageBytes } from "./decode-message.js";
export { encodeMessage } from "./encode-message.js";
export { framedSize, installSnapshotMethod, sendMessagesMethod } from "./wire-format.js";
