import type { NodeId } from "../log-types.js";
import type { Clock, TimerHandle } from "../runtime/clock.js";
import type { ScheduledEvent, Scheduler } from "./scheduler.js";

/**
 * One simulated OS process hosting a node: it can crash (everything it scheduled is dropped and
 * its stores lose what was not synced), be paused (SIGSTOP: nothing runs until it resumes,
 * then everything that came due runs late), run with a drifting clock, and apply slowly.
 */
export class SimProcess {
  readonly id: NodeId;
  /** Bumped by every crash: callbacks of an earlier incarnation never run. */
  incarnation = 0;
  alive = true;
  pausedUntil = 0;
  /** Local time runs at this rate relative to virtual time (clock drift). */
  readonly clockRate: number;
  readonly clockOffset: number;
  /** While now < slowApplyUntil, yields between apply batches take slowApplyDelayMs. */
  slowApplyUntil = 0;
  slowApplyDelayMs = 0;
  private readonly scheduler: Scheduler;

  constructor(id: NodeId, scheduler: Scheduler, clockRate: number, clockOffset: number) {
    this.id = id;
    this.scheduler = scheduler;
    this.clockRate = clockRate;
    this.clockOffset = clockOffset;
  }

  get paused(): boolean {
    return this.scheduler.now < this.pausedUntil;
  }

  /**
   * Wraps a callback of the current incarnation: dropped if the process crashed since, and run
   * only once the process is not paused.
   */
  guard(fn: () => void): () => void {
    const incarnation = this.incarnation;
    const run = () => {
      if (!this.alive || this.incarnation !== incarnation) return;
      if (this.scheduler.now < this.pausedUntil) {
        this.scheduler.at(this.pausedUntil, run);
        return;
      }
      fn();
    };
    return run;
  }

  /** Schedules a guarded callback after `delay` virtual milliseconds. */
  after(delay: number, fn: () => void): ScheduledEvent {
    return this.scheduler.after(delay, this.guard(fn));
  }

  crash(): void {
    this.alive = false;
    this.incarnation++;
    this.pausedUntil = 0;
    this.slowApplyUntil = 0;
  }

  restart(): void {
    this.alive = true;
  }

  /** The node's view of time: drifting, offset, monotonic. */
  clock(): Clock {
    return {
      now: () => this.clockOffset + this.scheduler.now * this.clockRate,
      setTimeout: (fn, ms) => {
        let delay = ms / this.clockRate;
        if (ms <= 0 && this.scheduler.now < this.slowApplyUntil) delay = this.slowApplyDelayMs;
        return this.after(delay, fn);
      },
      clearTimeout: (handle: TimerHandle) => {
        if (handle !== undefined) this.scheduler.cancel(handle as ScheduledEvent);
      },
    };
  }
}
