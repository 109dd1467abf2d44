// The Raft-backed storage Backend: every write through the Raft log, reads from the local
// in-memory store, followers forwarding to the leader.
export { Backend, type BackendOptions, DEFAULT_LEADER_HOLD_MS } from "./backend.js";
export { type Handle, isNoLeaderError, NoLeaderError } from "./handle.js";
// Symbols below are for engines and tools that handle the log entries themselves.
export {
  encodeDeleteEntry,
  encodeWriteEntry,
  MalformedEntryError,
  UnsupportedEntryError,
} from "./log-entry.js";
export { type Logger, silentLogger } from "./logger.js";
export {
  encodeStoreSnapshot,
  type Restoration,
  restoreStoreSnapshot,
  type Snapshot,
} from "./snapshot.js";
