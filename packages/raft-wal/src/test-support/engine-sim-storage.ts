import type { SnapshotMeta, SnapshotSink, SnapshotStore } from "@raftstore/raft";
import {
  DiskStall,
  observeLogStore,
  observeStableStore,
  type SimStorage,
  type SimStorageFactory,
  type SimStores,
} from "@raftstore/raft/testing";
import type { Clock } from "../clock.js";
import { openDataDir } from "../data-dir.js";
import type { Logger } from "../logger.js";
import { randomCrash } from "../testing/crash-policy.js";
import { SimFileSystem, type SimOperation } from "../testing/sim-file-system.js";

// The engine's simulation (@raftstore/raft/testing) on this package's stores: each node opens a
// data directory on its own simulated disk. Syncs take a random virtual latency (sometimes a
// long one, and none completes while the disk is stalled); a crash freezes the disk, and the
// next boot sees what randomCrash keeps of the unsynced writes (a prefix of each file's, the
// next one possibly torn and zero-filled to its sector or scattered by whole sectors, and a
// prefix of each directory's entries). Recovery must then open the directory, and the engine's invariants and the
// clients' linearizability must hold across it all.

/** Small files, so that segments rotate and snapshots span many chunks in a short run. */
const segmentSize = 4096;
const snapshotChunkSize = 64;

/** What recovery found across the nodes of runs (to show the crash model is exercised). */
export interface WalSimCounts {
  /** Data directories opened after a crash. */
  reopened: number;
  /** Of those, how many found (and cut) a torn log tail. */
  tornTails: number;
}

/**
 * Storage for the engine's simulation: raft-wal's stores on a crashing simulated disk. `counts`,
 * when given, adds up what recovery found.
 */
export const walSimStorage =
  (counts?: WalSimCounts): SimStorageFactory =>
  (context) => {
    const { id, process, scheduler, rng } = context;
    const gate = new DiskStall(scheduler);
    let stallRate = context.stallRate;
    const delay = (operation: SimOperation): Promise<void> | undefined => {
      if (operation.kind !== "datasync" && operation.kind !== "syncDirectory") return undefined;
      let latency = rng.range(0.2, 2);
      if (rng.chance(stallRate)) latency += rng.range(30, 300);
      // The process learns of the sync when it runs (never while paused, never after a crash).
      return new Promise((resolve) =>
        scheduler.after(latency, () => gate.run(process.guard(resolve))),
      );
    };
    let fs = new SimFileSystem({ delay });
    let booted = false;
    let snapshotsStored = 0;
    const durable = { state: { term: 0, vote: "" } };
    const clock: Clock = {
      now: () => scheduler.now,
      setTimeout: (callback, ms) => {
        const event = scheduler.after(ms, callback);
        return () => scheduler.cancel(event);
      },
    };
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_fields, message) => context.trace(`raft-wal warn ${message ?? ""}`),
      error: (_fields, message) => context.trace(`raft-wal error ${message ?? ""}`),
    };
    const storage: SimStorage = {
      async open(): Promise<SimStores> {
        if (booted) {
          fs = fs.restart(randomCrash(rng.nextUint32()), { delay });
          if (counts !== undefined) counts.reopened++;
        }
        booted = true;
        const pid = 1000 + process.incarnation;
        const dir = await openDataDir(`/${id}`, {
          fs,
          clock,
          logger,
          process: { pid, bootId: "sim", isAlive: (other) => other === pid },
          segmentSize,
          snapshotChunkSize,
        });
        if (dir.log.recovery.tornTail !== undefined) {
          context.trace("raft-wal cut a torn log tail");
          if (counts !== undefined) counts.tornTails++;
        }
        return {
          logStore: observeLogStore(id, dir.log, context),
          stableStore: observeStableStore(id, dir.stable, context, durable),
          snapshotStore: counting(dir.snapshots, () => snapshotsStored++),
        };
      },
      crash: () => fs.crash(),
      stall: (until) => gate.stall(until),
      heal: () => {
        stallRate = 0;
        gate.heal();
      },
      get snapshotsStored() {
        return snapshotsStored;
      },
    };
    return storage;
  };

/** A snapshot store that counts the snapshots it made durable. */
function counting(store: SnapshotStore, stored: () => void): SnapshotStore {
  return {
    create: async (meta: SnapshotMeta): Promise<SnapshotSink> => {
      const sink = await store.create(meta);
      return {
        write: (chunk) => sink.write(chunk),
        commit: async () => {
          const size = await sink.commit();
          stored();
          return size;
        },
        abort: () => sink.abort(),
      };
    },
    open: (meta) => store.open(meta),
    list: () => store.list(),
    setAside: (snapshot) => store.setAside(snapshot),
    close: () => store.close(),
  };
}
