// Package raftstore.operator.v1: operating a cluster (status, members, leadership, snapshots).
export * from "./gen/raftstore/operator/v1/operator_pb.js";
