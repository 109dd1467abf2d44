// @raftstore/raft — the Raft consensus engine.
//
// End-user API first: create a node, give it stores, a transport and a state machine, and use
// it like hashicorp/raft. Library symbols (the deterministic core, the message types a transport
// encodes, checksums) follow.

export { checksum, createEntry, entryChecksum, verifyEntry } from "./checksum.js";
export { decodeConfig, encodeConfig } from "./config-codec.js";
export type { CoreConfig, UnsafeSwitches } from "./core/core-config.js";
export {
  type CoreStorage,
  type PeerStatus,
  type Proposal,
  type ProposeResult,
  RaftCore,
} from "./core/raft.js";
export type { NodeState, ReadState, Ready, SoftState } from "./core/ready.js";
export {
  CorruptEntryError,
  type DropReason,
  InconsistentStateError,
  InvalidOptionsError,
  isCorruptEntryError,
  isInconsistentStateError,
  isInvalidOptionsError,
  isLeadershipLostError,
  isLeadershipTransferError,
  isNotCommittedError,
  isNotLeaderError,
  isProposalDroppedError,
  isProposalTooLargeError,
  isRestoreInProgressError,
  isRestoreRejectedError,
  isShutdownError,
  isSnapshotDamage,
  isTimeoutError,
  LeadershipLostError,
  LeadershipTransferError,
  NotCommittedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
  type RaftErrorName,
  RestoreInProgressError,
  RestoreRejectedError,
  ShutdownError,
  SnapshotDamagedError,
  TimeoutError,
} from "./errors.js";
export {
  type ClusterConfig,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type SnapshotMeta,
} from "./log-types.js";
export { type Logger, silentLogger } from "./logger.js";
export {
  type AppendMessage,
  type AppendResponseMessage,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  isBulkMessage,
  type Message,
  type MessageType,
  type ProposalRefusal,
  type ProposedEntry,
  type ProposeMessage,
  type ProposeResponseMessage,
  type ReadIndexMessage,
  type ReadIndexResponseMessage,
  type SnapshotChunkMessage,
  type SnapshotChunkResponseMessage,
  type SnapshotTransferStatus,
  type TimeoutNowMessage,
  type VoteMessage,
  type VoteResponseMessage,
} from "./messages.js";
export { type Clock, systemClock, systemRandom, type TimerHandle } from "./runtime/clock.js";
export type { RaftEvent, RaftEventListener } from "./runtime/events.js";
export { MemoryLogStore } from "./runtime/memory-log-store.js";
export {
  MemorySnapshotStore,
  type MemorySnapshotStoreOptions,
} from "./runtime/memory-snapshot-store.js";
export { MemoryStableStore } from "./runtime/memory-stable-store.js";
export { createMemoryNetwork, MemoryNetwork } from "./runtime/memory-transport.js";
export {
  type CallOptions,
  createRaftNode,
  type RaftNode,
  type RaftStats,
} from "./runtime/node.js";
export type { RaftNodeOptions } from "./runtime/options.js";
export type {
  FSM,
  LogContents,
  LogStore,
  SnapshotIdentity,
  SnapshotSink,
  SnapshotSource,
  SnapshotStore,
  StableStore,
} from "./stores.js";
export { sameSnapshot } from "./stores.js";
// Library symbols.
export type { Transport, TransportHandler } from "./transport.js";
export { validateMessage } from "./validate-message.js";
