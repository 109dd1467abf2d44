// Package raftstore.raft.v1: the messages Raft nodes exchange and the RaftService that carries
// them between nodes (used by @raftstore/raft-transport).
export * from "./gen/raftstore/raft/v1/raft_pb.js";
