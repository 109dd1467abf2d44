import type { NodeId } from "../log-types.js";
import type { LogStore, SnapshotStore, StableStore } from "../stores.js";
import { DiskStall } from "./disk-stall.js";
import { reportingObserver } from "./observed-stores.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import type { SimProcess } from "./sim-process.js";
import {
  SimDisk,
  SimLogStore,
  SimSnapshotStore,
  SimStableStore,
  type StoreObserver,
} from "./sim-stores.js";

// The simulation's storage is pluggable: by default each node gets the simulation's own stores
// on a modelled disk (sim-stores.ts); a package with real stores (@raftstore/raft-wal) plugs
// them in over its simulated file system, with its own crash model, and the same invariants and
// linearizability check then hold the engine and those stores to account together.

/** The three stores a node runs on. */
export interface SimStores {
  readonly logStore: LogStore;
  readonly stableStore: StableStore;
  readonly snapshotStore: SnapshotStore;
}

/** One node's durable storage across its incarnations. */
export interface SimStorage {
  /**
   * The stores for the node's next incarnation (at the first start, and after each crash). A
   * promise when opening them takes I/O; a failure to open is a violation ("no node failure").
   */
  open(): SimStores | Promise<SimStores>;
  /**
   * The node's process crashed now: whatever was not durable is lost as the storage's crash
   * model decides (calls in flight never complete). `open` is called before the next start.
   */
  crash(): void;
  /** Until virtual time `until`, nothing written becomes durable (a stalled disk). */
  stall(until: number): void;
  /** Every injected disk fault ends (the simulation heals). */
  heal(): void;
  /** Snapshots made durable so far (for the run's statistics). */
  readonly snapshotsStored: number;
}

/** What a storage factory gets for one node. */
export interface SimStorageContext {
  readonly id: NodeId;
  readonly process: SimProcess;
  readonly scheduler: Scheduler;
  /** The node's own random stream (crash outcomes, latencies). */
  readonly rng: Prng;
  /** The invariant checker's hooks: call them as the stores change (see observed-stores.ts). */
  readonly observer: StoreObserver;
  /** Reports a violation found outside the engine's calls (it stops the run). */
  violation(error: unknown): void;
  /** Probability that one sync stalls for a while (the scenario's `diskStall`). */
  readonly stallRate: number;
  /** Adds a line to the run's trace. */
  trace(line: string): void;
}

/** Makes the storage of one node; called once per node, before its first start. */
export type SimStorageFactory = (context: SimStorageContext) => SimStorage;

/**
 * The default: the simulation's stores on a modelled disk (syncs complete in order after a
 * random latency; a crash keeps the synced writes and a random prefix of the rest, the last
 * possibly torn).
 */
export const simDiskStorage: SimStorageFactory = (context) => {
  const disk = new SimDisk(
    context.process,
    context.rng,
    { minSyncMs: 0.2, maxSyncMs: 2, stall: context.stallRate },
    () => context.scheduler.now,
  );
  disk.bind((delay, fn) => context.scheduler.after(delay, fn));
  const gate = new DiskStall(context.scheduler);
  disk.gate = gate;
  // A broken invariant the stores see is reported as itself, not as the node failing.
  const observer = reportingObserver(context);
  const stores = {
    logStore: new SimLogStore(context.id, disk, observer),
    stableStore: new SimStableStore(context.id, disk, observer),
    snapshotStore: new SimSnapshotStore(disk),
  };
  return {
    open: () => stores,
    crash: () => {
      disk.crash();
      stores.logStore.crash();
      stores.stableStore.crash();
    },
    stall: (until) => gate.stall(until),
    heal: () => {
      disk.faults.stall = 0;
      gate.heal();
    },
    get snapshotsStored() {
      return stores.snapshotStore.taken;
    },
  };
};
