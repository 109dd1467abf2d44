// The public resource model and API, package raftstore.resource.v1. Other protobuf packages
// have their own subpath export (`@raftstore/proto/storage/v1`), so that equal message names
// in different packages (WriteRequest, …) never collide.
export * from "./gen/raftstore/resource/v1/resource_pb.js";
export * from "./gen/raftstore/resource/v1/resource_service_pb.js";

/**
 * The response header (a gRPC trailer) with which a node says that a change (Write,
 * WriteStatus, Delete) that failed with Unavailable may still have been made: the leader was
 * lost, or stopped answering, after the change reached it. Its value is `unknown`. Without it,
 * an Unavailable change was certainly not made (no leader took it, or it was refused before
 * anything was appended) and can simply be made again; with it, read before making again a
 * change that names a version.
 */
export const outcomeHeader = "raftstore-outcome";

/**
 * The response header (a gRPC trailer) with which a node says that a change failed with
 * ResourceExhausted because the store is at its quota (`--quota-bytes`), not because the
 * request was too large: the same change succeeds once resources are deleted or the quota is
 * raised. Its value is `1`.
 */
export const quotaExceededHeader = "raftstore-quota-exceeded";
