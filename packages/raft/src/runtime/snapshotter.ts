import type { RaftCore } from "../core/raft.js";
import { InconsistentStateError } from "../errors.js";
import type { SnapshotMeta } from "../log-types.js";
import { type SnapshotSink, sameSnapshot } from "../stores.js";
import type { RaftEvent } from "./events.js";
import type { ResolvedOptions } from "./options.js";

/** What the snapshotter needs from its node. */
export interface SnapshotterHost {
  readonly options: ResolvedOptions;
  /** The running core, or undefined once the node stopped. */
  core(): RaftCore | undefined;
  /** The index the state machine has applied. */
  appliedIndex(): number;
  /**
   * The index the state machine's current state belongs to for a snapshot: the applied index,
   * or the index before a restore being applied (see Applier.snapshotPoint).
   */
  snapshotPoint(): number;
  /** The latest restore commit applied here (0 for none): the log up to it may go at once. */
  lastRestoreIndex(): number;
  /** The lowest index of a snapshot being sent to a follower, if any. */
  sendingFloor(): number | undefined;
  /** Issues a log store write after every write issued before it; failure stops the node. */
  persistInOrder(write: () => Promise<unknown>): void;
  emit(event: RaftEvent): void;
}

/**
 * The node's own snapshots and log compaction, and the lane that orders every snapshot-store
 * operation: taking a snapshot, committing one received from the leader, and restoring the
 * state machine from one run one at a time, so the newest snapshot in the store always has the
 * highest index (a restart then never finds a snapshot older than its compacted log).
 */
export class Snapshotter {
  /** The newest snapshot in the store (taken here or received), or undefined. */
  stored: SnapshotMeta | undefined;
  /** Bytes of entries applied since the last snapshot (the bytes threshold). */
  bytesSinceSnapshot = 0;
  private inFlight: Promise<SnapshotMeta> | undefined;
  /** Whether a damaged snapshot is being replaced (replaceDamaged). */
  private replacing = false;
  private lane: Promise<unknown> = Promise.resolve();
  private readonly host: SnapshotterHost;
  /**
   * Entries applied since the last snapshot that trigger the next one, and the least time since
   * it, both lowered by the same random part of snapshotJitter.
   */
  private trigger: { entries: number; intervalMs: number };
  /** When the last snapshot was taken here (or the node started), on the node's clock. */
  private takenAt: number;

  constructor(host: SnapshotterHost, stored: SnapshotMeta | undefined) {
    this.host = host;
    this.stored = stored;
    this.trigger = this.drawTrigger();
    this.takenAt = host.options.clock.now();
  }

  /**
   * The snapshot threshold and interval, lowered by a random part of `snapshotJitter`. Both: a
   * stream of writes that reaches the threshold before the interval ends leaves the interval
   * to decide, and members that started together would then snapshot together.
   */
  private drawTrigger(): { entries: number; intervalMs: number } {
    const { snapshotThreshold, snapshotIntervalMs, snapshotJitter, random } = this.host.options;
    // No draw without jitter: a simulation's random sequence stays what it was.
    const lowered = snapshotJitter === 0 ? 1 : 1 - snapshotJitter * random();
    return {
      entries: Math.max(1, Math.ceil(snapshotThreshold * lowered)),
      intervalMs: snapshotIntervalMs * lowered,
    };
  }

  /** Runs `fn` alone among snapshot-store operations. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn, fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** Takes a snapshot if the entries or bytes applied since the last one reached a threshold. */
  maybeSnapshot(): void {
    if (this.inFlight !== undefined) return;
    const o = this.host.options;
    const since = this.host.appliedIndex() - (this.stored?.index ?? 0);
    const due =
      since >= this.trigger.entries && o.clock.now() - this.takenAt >= this.trigger.intervalMs;
    if (due || this.bytesSinceSnapshot >= o.snapshotThresholdBytes) {
      this.take().catch((error: unknown) => {
        o.logger.error({ node: o.id, err: error }, "taking a snapshot failed; the log is kept");
      });
    }
  }

  /** Takes a snapshot of the applied state (or joins the one in progress). */
  take(): Promise<SnapshotMeta> {
    if (this.inFlight !== undefined) return this.inFlight;
    const run = this.exclusive(() => this.write());
    this.inFlight = run;
    const clear = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * A stored snapshot turned out damaged when it was read to be sent to a follower. Every later
   * transfer of it would fail the same way, so it is set aside and, if it is the newest, a new
   * snapshot of the applied state is taken at once (at the same index if nothing was applied
   * since), which the next transfer sends. The state machine's state is intact: only the stored
   * copy was damaged.
   */
  replaceDamaged(snapshot: SnapshotMeta): void {
    if (this.replacing) return;
    this.replacing = true;
    const o = this.host.options;
    o.logger.error(
      { node: o.id, snapshot: snapshot.index },
      "a stored snapshot is damaged; setting it aside and taking a new one",
    );
    this.exclusive(() => o.snapshotStore.setAside(snapshot))
      .then(async () => {
        await this.settled();
        if (this.stored === undefined || !sameSnapshot(this.stored, snapshot)) return;
        this.stored = undefined;
        await this.take();
      })
      .catch((error: unknown) => {
        o.logger.error({ node: o.id, err: error }, "replacing a damaged snapshot failed");
      })
      .finally(() => {
        this.replacing = false;
      });
  }

  /** Waits for the snapshot in progress, if any. */
  async settled(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  /**
   * Commits a snapshot received from the leader, unless it is no longer needed (the log has
   * committed that far, or a newer snapshot is stored): then it is aborted and false returned.
   */
  commitReceived(snapshot: SnapshotMeta, sink: SnapshotSink): Promise<boolean> {
    return this.exclusive(async () => {
      const core = this.host.core();
      const committed = core?.log.committed ?? Number.POSITIVE_INFINITY;
      if (snapshot.index <= committed || snapshot.index <= (this.stored?.index ?? 0)) {
        await sink.abort();
        return false;
      }
      await sink.commit();
      this.stored = snapshot;
      return true;
    });
  }

  private async write(): Promise<SnapshotMeta> {
    const o = this.host.options;
    const core = this.host.core();
    if (core === undefined) throw new InconsistentStateError("the node stopped");
    const index = this.host.snapshotPoint();
    const stored = this.stored;
    if (stored !== undefined && index <= stored.index) return stored;
    const term = core.log.term(index);
    if (term === undefined) {
      throw new InconsistentStateError(`the applied index ${index} is not in the log`);
    }
    const meta: SnapshotMeta = { index, term, config: core.configAt(index) };
    // The state machine captures its state now, at `index`. The first chunk is asked for at
    // once, before anything is awaited: an FSM written as an async generator runs its body
    // (and captures its state) only then, and entries applied meanwhile would otherwise end up
    // in a snapshot that claims to stop at `index`.
    const contents = o.fsm.snapshot()[Symbol.asyncIterator]();
    const first = contents.next();
    first.catch(() => undefined);
    const bytesCaptured = this.bytesSinceSnapshot;
    let size: number;
    let sink: SnapshotSink | undefined;
    try {
      sink = await o.snapshotStore.create(meta);
      for (let next = await first; next.done !== true; next = await contents.next()) {
        await sink.write(next.value);
      }
      size = await sink.commit();
    } catch (error) {
      await contents.return?.().catch(() => undefined);
      await sink?.abort().catch(() => undefined);
      throw error;
    }
    this.stored = meta;
    this.trigger = this.drawTrigger();
    this.takenAt = o.clock.now();
    this.bytesSinceSnapshot = Math.max(0, this.bytesSinceSnapshot - bytesCaptured);
    this.compact(core, meta);
    this.host.emit({ type: "snapshotTaken", snapshot: meta, size });
    o.logger.info({ node: o.id, snapshot: index, size }, "took a snapshot");
    return meta;
  }

  /**
   * Compacts the log behind a new snapshot, keeping: trailing entries for followers slightly
   * behind (at most `trailingEntries` of them, holding at most `trailingBytes`); everything
   * after a snapshot still being sent (its receiver continues from the log once installed); and
   * what followers replicating normally, a few entries behind, still need (they would otherwise
   * need the snapshot themselves, and could keep chasing ever newer ones, etcd-io/etcd#4055)
   * unless they are more than a snapshot interval behind, in entries or in bytes (then they are
   * slow, and a snapshot is the cheaper way to catch them up; the log is held in memory, and a
   * slow follower must not make it grow without bound). The trailing entries never
   * include the chunks of a restore the snapshot covers: they are the snapshot's size again,
   * and a follower that needs them later is better served by the snapshot.
   *
   * "Keeping what comes after index i" keeps entry i itself too: the next append to that
   * follower names i's term as its previous term, and a compacted entry's term is lost (only
   * the snapshot's own is remembered), which would send the follower a snapshot after all.
   */
  private compact(core: RaftCore, meta: SnapshotMeta): void {
    if (this.host.core() !== core || core.log.snapshot.index >= meta.index) return;
    const o = this.host.options;
    let compactTo = core.log.trailStart(meta.index, o.trailingEntries, o.trailingBytes);
    const restored = this.host.lastRestoreIndex();
    if (restored <= meta.index) compactTo = Math.max(compactTo, restored);
    const slow = core.log.trailStart(meta.index, o.snapshotThreshold, o.snapshotThresholdBytes);
    for (const status of core.peerStatus().values()) {
      if (status.state === "replicate" && status.match >= slow) {
        compactTo = Math.min(compactTo, status.match - 1);
      }
    }
    compactTo = Math.min(compactTo, core.log.persisted);
    const sending = this.host.sendingFloor();
    if (sending !== undefined) compactTo = Math.min(compactTo, sending - 1);
    compactTo = Math.max(0, compactTo);
    core.snapshotTaken(meta, compactTo);
    if (compactTo > 0 && compactTo >= core.log.firstIndex() - 1) {
      this.host.persistInOrder(() => o.logStore.compact(compactTo));
    }
  }
}
