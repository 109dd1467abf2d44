import type { Resource } from "@raftstore/proto";
import type { Backend } from "../backend.js";

/** What a backend factory may use to release what it created. */
export interface BackendContext {
  /** Registers a function to run once the test (or group of tests) using the backend ends. */
  onCleanup(fn: () => void | Promise<void>): void;
}

/** Options of `runConformance`. */
export interface ConformanceOptions {
  /** Returns a fresh, empty, isolated backend. Called once per test (once for ListByOwner). */
  newBackend(context: BackendContext): Backend | Promise<Backend>;
  /** Also test List with strong consistency. */
  supportsStronglyConsistentList: boolean;
  /** The backend implements the optional `OverwritingBackend.overwrite`: test it too. */
  overwrite?: boolean;
  /**
   * The backend implements the optional `IncarnationDeletingBackend.deleteIncarnation`: test it
   * too.
   */
  deleteIncarnation?: boolean;
  /**
   * Tolerate an initial watch snapshot that is stale (an end-of-snapshot at any position,
   * followed by the missing upserts), as a Raft follower's may be.
   */
  ignoreWatchListSnapshotOperations?: boolean;
  /**
   * If the backend can restore a snapshot, replaces its whole content with `resources`
   * (versions kept). Enables the tests that a restore replaces the data and ends every watch
   * with WatchClosedError.
   */
  restore?(backend: Backend, resources: Resource[]): Promise<void>;
  /** How long `eventually` checks retry. Default 7000 ms. */
  eventuallyTimeoutMs?: number;
  /** Pause between `eventually` attempts. Default 25 ms. */
  eventuallyIntervalMs?: number;
  /** How long to wait for each watch event. Default 5000 ms. */
  nextTimeoutMs?: number;
  /** Timeout of each test. Default 30000 ms. */
  testTimeoutMs?: number;
}
