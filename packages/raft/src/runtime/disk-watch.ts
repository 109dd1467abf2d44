import type { NodeId } from "../log-types.js";
import type { Logger } from "../logger.js";
import type { Clock } from "./clock.js";
import type { RaftEvent } from "./events.js";

/** What the watch needs from its node. */
export interface DiskWatchHost {
  readonly id: NodeId;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Ticks a write may stay unfinished before the disk counts as stalled. */
  readonly stallTicks: number;
  emit(event: RaftEvent): void;
}

/** What the node should do about its disk, at a tick. */
export type DiskVerdict =
  /** A write just passed the bound: a leader hands leadership over. */
  | "stalled"
  /** Still stalled twice the bound later: a leader that could not hand over steps down. */
  | "still-stalled"
  | undefined;

interface Write {
  readonly startedMs: number;
  readonly startedTick: number;
}

/**
 * Times the node's own log and stable store writes, so that a stalled disk is noticed by the
 * engine itself, whatever the store (hashicorp/raft#503: a leader whose disk hangs keeps
 * sending heartbeats, so its followers never elect anyone else). A write unfinished for
 * `stallTicks` ticks is a stall: reported once to observers (`diskStall`, completed false) and
 * counted in stats, and reported again when the write finally finishes (completed true).
 *
 * Time is counted in ticks the node lived through, not in clock time: a process that was paused
 * (or starved of CPU) comes back to find writes it issued long ago, finished but not yet
 * reported, and must not take its own absence for a stalled disk.
 */
export class DiskWatch {
  /** Stalls noticed since the node started. */
  stalls = 0;
  private readonly inFlight = new Map<number, Write>();
  private seq = 0;
  private stalled: { readonly id: number; readonly write: Write; escalated: boolean } | undefined;
  private readonly host: DiskWatchHost;

  constructor(host: DiskWatchHost) {
    this.host = host;
  }

  /**
   * A write (or a group of writes issued together) starts at tick `tick`; returns its id, for
   * `end`. (The node ends it in the continuation it already has on the write: a promise and a
   * closure more per write would show on the hot path.)
   */
  begin(tick: number): number {
    const id = ++this.seq;
    this.inFlight.set(id, { startedMs: this.host.clock.now(), startedTick: tick });
    return id;
  }

  /** How long the oldest unfinished write has been running, in clock milliseconds (0: none). */
  oldestInFlightMs(): number {
    const oldest = this.oldest();
    return oldest === undefined ? 0 : Math.max(0, this.host.clock.now() - oldest[1].startedMs);
  }

  /** Called at every tick: whether the disk just stalled, or is still stalled. */
  tick(tick: number): DiskVerdict {
    const oldest = this.oldest();
    if (oldest === undefined) return undefined;
    const [id, write] = oldest;
    const ticks = tick - write.startedTick;
    if (ticks < this.host.stallTicks) return undefined;
    if (this.stalled === undefined) {
      this.stalled = { id, write, escalated: false };
      this.stalls++;
      const elapsedMs = this.host.clock.now() - write.startedMs;
      this.host.logger.warn(
        { node: this.host.id, elapsedMs, ticks },
        "a store write has not finished within the disk stall bound",
      );
      this.host.emit({ type: "diskStall", elapsedMs, completed: false });
      return "stalled";
    }
    if (!this.stalled.escalated && ticks >= 2 * this.host.stallTicks) {
      this.stalled.escalated = true;
      return "still-stalled";
    }
    return undefined;
  }

  private oldest(): [number, Write] | undefined {
    // Ids grow with each write and the map keeps insertion order: the first is the oldest.
    for (const entry of this.inFlight) return entry;
    return undefined;
  }

  /** Write `id` finished (or failed: the node stops then anyway). */
  end(id: number): void {
    this.inFlight.delete(id);
    const stalled = this.stalled;
    if (stalled === undefined) return;
    // The stall is over once nothing issued before the stalled write's end is still unfinished.
    const oldest = this.oldest();
    if (oldest !== undefined && oldest[0] <= stalled.id) return;
    this.stalled = undefined;
    const elapsedMs = this.host.clock.now() - stalled.write.startedMs;
    this.host.logger.info({ node: this.host.id, elapsedMs }, "the stalled store write finished");
    this.host.emit({ type: "diskStall", elapsedMs, completed: true });
  }
}
