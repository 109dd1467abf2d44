// The forwarding service: followers send the leader what only the leader can do (writes,
// deletes, strongly consistent reads and lists) over Connect-RPC, and get storage errors back.
export {
  createForwardingClient,
  type ForwardingCallOptions,
  type ForwardingClient,
  type ForwardingClientOptions,
} from "./client.js";
export { connectErrorToStorageError } from "./connect-error-to-storage-error.js";
export { errorToConnectError } from "./error-to-connect-error.js";
// Symbols below describe the wire format; only code that inspects raw statuses needs them.
export {
  codeByStorageError,
  detailHeader,
  errorHeader,
  fieldHeader,
  hasNoLeaderMark,
  internalErrorValue,
  noLeaderHeader,
  partialDetailValue,
} from "./error-wire.js";
export { maxDeadlineMs } from "./grpc-wire.js";
export { GuardedSessionManager } from "./guarded-session-manager.js";
export { createForwardingRoutes, type ForwardingTarget } from "./routes.js";
export {
  createForwardingServer,
  type ForwardingServer,
  type ForwardingServerOptions,
} from "./server.js";
export {
  createForwardingTransport,
  type ForwardingTransport,
  type ForwardingTransportOptions,
} from "./transport.js";
export { createUnaryGrpcHandler, type UnaryGrpcHandlerOptions } from "./unary-grpc-handler.js";
