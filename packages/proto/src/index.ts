// The public resource model and API, package raftstore.resource.v1. Other protobuf packages
// have their own subpath export (`@raftstore/proto/storage/v1`), so that equal message names
// in different packages (WriteRequest, …) never collide.
export * from "./gen/raftstore/resource/v1/resource_pb.js";
export * from "./gen/raftstore/resource/v1/resource_service_pb.js";
