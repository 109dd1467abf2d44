export { checksum, createEntry, entryChecksum, verifyEntry } from "./checksum.js";
export {
  type ClusterConfig,
  type Entry,
  EntryType,
  type HardState,
  type NodeId,
  type SnapshotMeta,
} from "./log-types.js";
export type {
  FSM,
  LogContents,
  LogStore,
  SnapshotSink,
  SnapshotSource,
  SnapshotStore,
  StableStore,
} from "./stores.js";
