import { verifyEntry } from "../checksum.js";
import { CorruptEntryError, InconsistentStateError } from "../errors.js";
import { type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
import { sleep } from "./clock.js";
import type { ResolvedOptions } from "./options.js";

/** What the applier needs from its node. */
export interface ApplierHost {
  readonly options: ResolvedOptions;
  running(): boolean;
  /** Runs `fn` alone among snapshot-store operations (the snapshotter's lane). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** An entry was applied with this result (resolve its proposal). */
  entryApplied(entry: Entry, result: unknown): void;
  /** A batch was applied up to `index`, with `bytes` of Normal entry data. */
  batchApplied(index: number, bytes: number): void;
  /** The state machine was restored from `snapshot`. */
  restored(snapshot: SnapshotMeta): void;
  fail(error: unknown): void;
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
 */
export class Applier {
  /** The index the state machine's state corresponds to. */
  appliedIndex: number;
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
        else this.apply(item.entries);
        if (this.queue.length > 0) await sleep(this.host.options.clock, 0);
      }
    } catch (error) {
      this.host.fail(error);
    } finally {
      this.runningLoop = false;
    }
  }

  private apply(entries: readonly Entry[]): void {
    const fsm = this.host.options.fsm;
    let bytes = 0;
    for (const entry of entries) {
      if (entry.index <= this.appliedIndex) continue; // covered by a restored snapshot
      if (!verifyEntry(entry)) throw new CorruptEntryError(entry.index, "before applying it");
      let result: unknown;
      if (entry.type === EntryType.Normal) {
        result = fsm.apply(entry);
        bytes += entry.data.byteLength;
      }
      this.appliedIndex = entry.index;
      this.host.entryApplied(entry, result);
    }
    this.host.batchApplied(this.appliedIndex, bytes);
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
    });
    if (!this.host.running()) return;
    this.appliedIndex = snapshot.index;
    this.host.restored(snapshot);
  }
}
