import { verifyEntry } from "../checksum.js";
import { CorruptEntryError, InconsistentStateError, RestoreRejectedError } from "../errors.js";
import { type ClusterConfig, type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
import { sleep } from "./clock.js";
import type { ResolvedOptions } from "./options.js";
import { RestoreRun } from "./restore-run.js";

/** What the applier needs from its node. */
export interface ApplierHost {
  readonly options: ResolvedOptions;
  running(): boolean;
  /** Runs `fn` alone among snapshot-store operations (the snapshotter's lane). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** The configuration in effect at `index`. */
  configAt(index: number): ClusterConfig;
  /** An entry was applied with this result (resolve its proposal). */
  entryApplied(entry: Entry, result: unknown): void;
  /** A batch was applied up to `index`, with `bytes` of Normal entry data. */
  batchApplied(index: number, bytes: number): void;
  /** The state machine was restored from `snapshot`. */
  restored(snapshot: SnapshotMeta): void;
  /** A user snapshot restored onto the cluster replaced the state at `meta.index`. */
  userRestored(meta: SnapshotMeta, size: number): void;
  fail(error: unknown): void;
}

/** What a restore commit entry resolves its proposal with. */
export type RestoreOutcome =
  | { readonly restored: true; readonly index: number }
  | { readonly restored: false; readonly error: RestoreRejectedError };

/** Whether an entry's result is a restore outcome (only the commit entries of restores have one). */
export function isRestoreOutcome(result: unknown): result is RestoreOutcome {
  return typeof result === "object" && result !== null && "restored" in result;
}

type ApplyItem =
  | { readonly kind: "entries"; readonly entries: readonly Entry[] }
  | { readonly kind: "restore"; readonly snapshot: SnapshotMeta };

/**
 * Feeds committed entries and snapshot restores to the state machine, in order, one batch at a
 * time. Every entry is checked against its checksum first: a mismatch stops the node with a
 * CorruptEntryError naming the index, and the entry is never applied. Between batches the loop
 * yields to the event loop (through the clock), so a long backlog never starves messages and
 * ticks.
 *
 * Restore entries (a user snapshot restored onto the cluster) are collected by a RestoreRun;
 * at the commit entry the state machine's `restore` runs with the collected contents before
 * anything after it is applied, and `appliedIndex` passes the commit only once it is done.
 */
export class Applier {
  /** The index the state machine's state corresponds to. */
  appliedIndex: number;
  /** The index of the latest restore commit applied here (0 for none). */
  lastRestoreIndex = 0;
  private readonly restoreRun = new RestoreRun();
  private queue: ApplyItem[] = [];
  private runningLoop = false;
  private scheduled = false;
  private readonly host: ApplierHost;

  constructor(host: ApplierHost, appliedIndex: number) {
    this.host = host;
    this.appliedIndex = appliedIndex;
  }

  enqueueEntries(entries: readonly Entry[]): void {
    this.queue.push({ kind: "entries", entries });
    this.schedule();
  }

  /** Restores the state machine from `snapshot` (durable in the snapshot store) in turn. */
  enqueueRestore(snapshot: SnapshotMeta): void {
    this.queue.push({ kind: "restore", snapshot });
    this.schedule();
  }

  clear(): void {
    this.queue = [];
  }

  /**
   * The index a snapshot of the state machine's current state belongs to: the applied index,
   * or, while a restore's chunks are being applied, the index right before the first chunk
   * (chunks leave the state untouched, and a snapshot inside a run would cut it in two).
   */
  snapshotPoint(): number {
    const since = this.restoreRun.openSince;
    return since === undefined ? this.appliedIndex : since - 1;
  }

  private schedule(): void {
    if (this.runningLoop || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.runningLoop) return;
    this.runningLoop = true;
    try {
      while (this.queue.length > 0 && this.host.running()) {
        const item = this.queue.shift() as ApplyItem;
        if (item.kind === "restore") await this.restore(item.snapshot);
        else {
          const restoring = this.apply(item.entries);
          if (restoring !== undefined) await restoring;
        }
        if (this.queue.length > 0) await sleep(this.host.options.clock, 0);
      }
    } catch (error) {
      this.host.fail(error);
    } finally {
      this.runningLoop = false;
    }
  }

  /**
   * Applies a batch, synchronously (the hot path) until a restore's commit entry, which makes
   * the rest of the batch wait for the state machine's `restore`.
   */
  private apply(entries: readonly Entry[], from = 0): Promise<void> | undefined {
    const fsm = this.host.options.fsm;
    let bytes = 0;
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (entry.index <= this.appliedIndex) continue; // covered by a restored snapshot
      if (!verifyEntry(entry)) throw new CorruptEntryError(entry.index, "before applying it");
      let result: unknown;
      if (entry.type === EntryType.Normal) {
        result = fsm.apply(entry);
        bytes += entry.data.byteLength;
      }
      const restore = this.restoreRun.next(entry);
      if (restore !== undefined) {
        // Everything before the commit is reported first; the restore then runs alone, and
        // nothing after it is applied until it is over.
        this.host.batchApplied(this.appliedIndex, bytes);
        return this.restoreThenApply(entries, i, restore);
      }
      this.appliedIndex = entry.index;
      this.host.entryApplied(entry, result);
    }
    this.host.batchApplied(this.appliedIndex, bytes);
    return undefined;
  }

  private async restoreThenApply(
    entries: readonly Entry[],
    at: number,
    restore: ReturnType<RestoreRun["next"]> & object,
  ): Promise<void> {
    const entry = entries[at] as Entry;
    const result = await this.restoreContents(entry, restore);
    if (!this.host.running()) return;
    this.host.entryApplied(entry, result);
    await this.apply(entries, at + 1);
  }

  /**
   * Replaces the state machine's state with a restore's contents, or refuses a commit that does
   * not match its chunks. The state machine must be deterministic here as in `apply`: every node
   * runs this with the same bytes (checked against the commit's size and CRC32C) and must reach
   * the same outcome. If `restore` throws, the restore is refused everywhere alike and the state
   * must be left as it was.
   *
   * The restore, the new applied index and the end of the run change together, alone in the
   * snapshot lane: a snapshot never sees the restored state under an index before the commit.
   */
  private async restoreContents(
    entry: Entry,
    restore: ReturnType<RestoreRun["next"]> & object,
  ): Promise<RestoreOutcome> {
    const o = this.host.options;
    const meta: SnapshotMeta = {
      index: entry.index,
      term: entry.term,
      config: this.host.configAt(entry.index),
    };
    let refusal: string | undefined;
    let rejection: unknown;
    await this.host.exclusive(async () => {
      if ("refused" in restore) {
        refusal = restore.refused;
      } else {
        try {
          await o.fsm.restore(iterate(restore.contents.pieces), meta);
        } catch (error) {
          rejection = error;
        }
      }
      this.restoreRun.reset();
      this.appliedIndex = entry.index;
      if (refusal === undefined && rejection === undefined) this.lastRestoreIndex = entry.index;
    });
    if (refusal !== undefined) {
      o.logger.error(
        { node: o.id, index: entry.index },
        `a restore commit does not match the chunks before it, so it is refused: ${refusal}`,
      );
      return { restored: false, error: new RestoreRejectedError(entry.index, refusal) };
    }
    if (rejection !== undefined) {
      o.logger.warn(
        { node: o.id, index: entry.index, err: rejection },
        "the state machine rejected a restored snapshot; the state is unchanged",
      );
      const detail = rejection instanceof Error ? rejection.message : String(rejection);
      return {
        restored: false,
        error: new RestoreRejectedError(entry.index, detail, { cause: rejection }),
      };
    }
    const size = "contents" in restore ? restore.contents.size : 0;
    if (this.host.running()) this.host.userRestored(meta, size);
    return { restored: true, index: entry.index };
  }

  private async restore(snapshot: SnapshotMeta): Promise<void> {
    const o = this.host.options;
    await this.host.exclusive(async () => {
      const source = await o.snapshotStore.open(snapshot);
      if (source === undefined) {
        throw new InconsistentStateError(
          `the snapshot at ${snapshot.index} to install is missing from the snapshot store`,
        );
      }
      try {
        await o.fsm.restore(source.read(), snapshot);
      } finally {
        await source.close();
      }
      // Together with the restore, in the lane: a snapshot taken next sees the new state at
      // its own index.
      this.restoreRun.reset();
      this.appliedIndex = snapshot.index;
    });
    if (!this.host.running()) return;
    this.host.restored(snapshot);
  }
}

async function* iterate(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}
