import type { Entry, HardState, NodeId, SnapshotMeta } from "../log-types.js";
import {
  type LogContents,
  type LogStore,
  type SnapshotIdentity,
  type SnapshotSink,
  type SnapshotSource,
  type SnapshotStore,
  type StableStore,
  sameSnapshot,
} from "../stores.js";
import type { DiskStall } from "./disk-stall.js";
import type { Prng } from "./prng.js";
import type { SimProcess } from "./sim-process.js";

// Stores with a model of durability. A call takes effect at once in the process's view, but is
// durable only once its (simulated) sync completes, in call order; the promise resolves then.
// At a crash, every completed call survives, and of the calls still syncing a random prefix
// survives too, the last of them possibly torn (a prefix of its entries). What the process saw
// but was never synced is lost, exactly as with a real disk and page cache.

/** Disk latency knobs, changed by the fault injector. */
export interface DiskFaults {
  minSyncMs: number;
  maxSyncMs: number;
  /** Probability that one sync stalls for a long time. */
  stall: number;
}

/** Hooks the invariant checker listens on. */
export interface StoreObserver {
  logAppended(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined): void;
  logTruncated(node: NodeId, afterIndex: number): void;
  hardStateDurable(node: NodeId, previous: HardState, next: HardState): void;
}

interface PendingOp {
  makeDurable(): void;
  /** For a torn write: make only part of it durable. */
  tear?: (rng: Prng) => void;
}

/** The sync queue shared by one process's stores. */
export class SimDisk {
  private pending: PendingOp[] = [];
  private lastCompletion = 0;
  readonly faults: DiskFaults;
  /** Holds back completed syncs while the disk is stalled. */
  gate: DiskStall | undefined;
  syncs = 0;
  private readonly process: SimProcess;
  private readonly rng: Prng;
  private readonly now: () => number;

  constructor(process: SimProcess, rng: Prng, faults: DiskFaults, now: () => number) {
    this.process = process;
    this.rng = rng;
    this.faults = faults;
    this.now = now;
  }

  /** Queues a write: durable (and the promise resolved) after a sync, in order. */
  write(op: PendingOp): Promise<void> {
    this.pending.push(op);
    let latency = this.rng.range(this.faults.minSyncMs, this.faults.maxSyncMs);
    if (this.rng.chance(this.faults.stall)) latency += this.rng.range(30, 300);
    const completion = Math.max(this.lastCompletion, this.now() + latency);
    this.lastCompletion = completion;
    const incarnation = this.process.incarnation;
    return new Promise<void>((resolve) => {
      const complete = () => {
        if (this.process.incarnation !== incarnation) return; // the crash decided its fate
        const at = this.pending.indexOf(op);
        // Syncs complete in order: everything queued before is durable too.
        if (at >= 0) for (const earlier of this.pending.splice(0, at + 1)) earlier.makeDurable();
        this.syncs++;
        // The disk finishes even while the process is paused; the process learns it when it runs.
        this.process.guard(resolve)();
      };
      this.schedulerAfter(completion - this.now(), () => {
        if (this.gate === undefined) complete();
        else this.gate.run(complete);
      });
    });
  }

  private schedulerAfter: (delay: number, fn: () => void) => void = () => {
    throw new Error("SimDisk used before bind()");
  };

  /** Wires the scheduler, unguarded: durability happens even while the process is paused. */
  bind(after: (delay: number, fn: () => void) => void): void {
    this.schedulerAfter = after;
  }

  /** The process crashed: a random prefix of the pending writes survives, the last maybe torn. */
  crash(): void {
    const survivors = this.rng.int(0, this.pending.length + 1);
    for (let i = 0; i < survivors; i++) {
      const op = this.pending[i] as PendingOp;
      if (i === survivors - 1 && op.tear !== undefined && this.rng.chance(0.5)) op.tear(this.rng);
      else op.makeDurable();
    }
    this.pending = [];
    this.lastCompletion = 0;
  }
}

interface LogState {
  compactedIndex: number;
  entries: Entry[];
}

const copyLog = (s: LogState): LogState => ({
  compactedIndex: s.compactedIndex,
  entries: s.entries.slice(),
});

export class SimLogStore implements LogStore {
  private durable: LogState = { compactedIndex: 0, entries: [] };
  private view: LogState = { compactedIndex: 0, entries: [] };
  private readonly node: NodeId;
  private readonly disk: SimDisk;
  private readonly observer: StoreObserver;

  constructor(node: NodeId, disk: SimDisk, observer: StoreObserver) {
    this.node = node;
    this.disk = disk;
    this.observer = observer;
  }

  /** After a crash the process sees what was durable. */
  crash(): void {
    this.view = copyLog(this.durable);
  }

  durableLastIndex(): number {
    return this.durable.compactedIndex + this.durable.entries.length;
  }

  async load(): Promise<LogContents> {
    return { compactedIndex: this.view.compactedIndex, entries: this.view.entries.slice() };
  }

  append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    const expected = this.view.compactedIndex + this.view.entries.length + 1;
    if (first === undefined) return Promise.resolve();
    if (first.index !== expected) {
      return Promise.reject(
        new Error(`sim log store: append at ${first.index}, expected ${expected}`),
      );
    }
    const prev = this.view.entries[this.view.entries.length - 1];
    this.observer.logAppended(this.node, entries, prev?.term);
    const batch = entries.slice();
    for (const e of batch) this.view.entries.push(e);
    return this.disk.write({
      makeDurable: () => this.applyDurable((s) => s.entries.push(...batch)),
      tear: (rng) => {
        const keep = rng.int(0, batch.length);
        this.applyDurable((s) => s.entries.push(...batch.slice(0, keep)));
      },
    });
  }

  truncateAfter(index: number): Promise<void> {
    this.observer.logTruncated(this.node, index);
    const cut = (s: LogState) => {
      s.entries.length = Math.max(0, Math.min(s.entries.length, index - s.compactedIndex));
    };
    cut(this.view);
    return this.disk.write({ makeDurable: () => this.applyDurable(cut) });
  }

  compact(index: number): Promise<void> {
    const drop = (s: LogState) => {
      const n = Math.min(s.entries.length, index - s.compactedIndex);
      if (n <= 0) return;
      s.entries = s.entries.slice(n);
      s.compactedIndex += n;
    };
    drop(this.view);
    return this.disk.write({ makeDurable: () => this.applyDurable(drop) });
  }

  reset(index: number): Promise<void> {
    this.observer.logTruncated(this.node, index);
    const reset = (s: LogState) => {
      s.entries = [];
      s.compactedIndex = index;
    };
    reset(this.view);
    return this.disk.write({ makeDurable: () => this.applyDurable(reset) });
  }

  async close(): Promise<void> {}

  private applyDurable(change: (s: LogState) => void): void {
    change(this.durable);
  }
}

export class SimStableStore implements StableStore {
  private durable: HardState = { term: 0, vote: "" };
  private view: HardState = { term: 0, vote: "" };
  private readonly node: NodeId;
  private readonly disk: SimDisk;
  private readonly observer: StoreObserver;

  constructor(node: NodeId, disk: SimDisk, observer: StoreObserver) {
    this.node = node;
    this.disk = disk;
    this.observer = observer;
  }

  crash(): void {
    this.view = this.durable;
  }

  async load(): Promise<HardState> {
    return this.view;
  }

  save(state: HardState): Promise<void> {
    const next = { term: state.term, vote: state.vote };
    this.view = next;
    return this.disk.write({
      makeDurable: () => {
        this.observer.hardStateDurable(this.node, this.durable, next);
        this.durable = next;
      },
    });
  }

  async close(): Promise<void> {}
}

interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export class SimSnapshotStore implements SnapshotStore {
  private durable: StoredSnapshot[] = [];
  private readonly disk: SimDisk;
  private readonly retain: number;
  private readonly readChunk: number;
  taken = 0;

  constructor(disk: SimDisk, retain = 2, readChunk = 97) {
    this.disk = disk;
    this.retain = retain;
    this.readChunk = readChunk;
  }

  crash(): void {}

  async create(meta: SnapshotMeta): Promise<SnapshotSink> {
    const chunks: Uint8Array[] = [];
    let done = false;
    return {
      write: async (chunk) => {
        if (done) throw new Error("sink already finished");
        chunks.push(chunk.slice());
      },
      commit: async () => {
        if (done) throw new Error("sink already finished");
        done = true;
        const size = chunks.reduce((n, c) => n + c.byteLength, 0);
        const data = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          data.set(c, at);
          at += c.byteLength;
        }
        await this.disk.write({
          makeDurable: () => {
            this.durable.push({ meta, data });
            this.taken++;
            if (this.durable.length > this.retain) this.durable.shift();
          },
        });
        return size;
      },
      abort: async () => {
        done = true;
      },
    };
  }

  async list(): Promise<readonly SnapshotIdentity[]> {
    return this.durable.map(({ meta }) => ({ index: meta.index, term: meta.term })).reverse();
  }

  async setAside(snapshot: SnapshotIdentity): Promise<void> {
    this.durable = this.durable.filter(({ meta }) => !sameSnapshot(meta, snapshot));
  }

  async open(meta?: SnapshotIdentity): Promise<SnapshotSource | undefined> {
    const found =
      meta === undefined
        ? this.durable[this.durable.length - 1]
        : this.durable.findLast((s) => sameSnapshot(s.meta, meta));
    if (found === undefined) return undefined;
    const { data } = found;
    const chunk = this.readChunk;
    return {
      meta: found.meta,
      size: data.byteLength,
      read: (offset = 0) => ({
        async *[Symbol.asyncIterator]() {
          for (let at = offset; at < data.byteLength; at += chunk) {
            yield data.slice(at, Math.min(at + chunk, data.byteLength));
          }
        },
      }),
      close: async () => {},
    };
  }

  async close(): Promise<void> {}
}
