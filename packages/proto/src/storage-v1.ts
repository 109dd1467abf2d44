// Package raftstore.storage.v1: the Raft log entries of the resource store and the
// ForwardingService that followers call on the leader.
export * from "./gen/raftstore/storage/v1/forwarding_pb.js";
export * from "./gen/raftstore/storage/v1/log_pb.js";
