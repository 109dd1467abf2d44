// The data directory: what a node opens at start, with its three stores.

export {
  DataDir,
  type DataDirOptions,
  dataDirFormatVersion,
  dataDirLayout,
  openDataDir,
} from "./data-dir.js";
export { isSnapshotFilePrefix } from "./snapshot-format.js";
export { FileSnapshotSink } from "./snapshot-sink.js";
export { FileSnapshotSource } from "./snapshot-source.js";
export {
  FileSnapshotStore,
  openSnapshotFile,
  type SnapshotStoreOptions,
} from "./snapshot-store.js";
export { FileStableStore } from "./stable-store.js";
export { Wal, type WalOptions } from "./wal.js";
export type { RecoveryReport } from "./wal-recovery.js";

// Errors, each with a guard that checks its name.

export {
  DataDirLockedError,
  InvalidEntryError,
  isDataDirLockedError,
  isInvalidEntryError,
  isLogIndexError,
  isSnapshotCorruptionError,
  isStableStateCorruptionError,
  isStoreClosedError,
  isStoreFailedError,
  isUnsupportedFormatError,
  isWalCorruptionError,
  LogIndexError,
  SnapshotCorruptionError,
  StableStateCorruptionError,
  StoreClosedError,
  StoreFailedError,
  UnsupportedFormatError,
  WalCorruptionError,
  type WalErrorName,
} from "./errors.js";

// Disk health: sync metrics and slow-sync reports.

export type { SlowSyncInfo, SyncKind } from "./sync-guard.js";
export { SyncMetrics, syncLatencyBucketsMs } from "./sync-metrics.js";

// Symbols above should be relevant to end users. Symbols below are for simulations, tests and
// other file systems (the simulated disk itself is in @raftstore/raft-wal/testing).

export { type Clock, systemClock } from "./clock.js";
export type { FileHandle, FileStat, FileSystem, OpenMode } from "./file-system.js";
export { acquireLock, currentProcess, type DataDirLock, type ProcessProbe } from "./lock-file.js";
export { type Logger, silentLogger, stderrLogger } from "./logger.js";
export { createNodeFileSystem } from "./node-file-system.js";
