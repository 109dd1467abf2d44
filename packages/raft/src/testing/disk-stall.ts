import type { Scheduler } from "./scheduler.js";

/**
 * A disk that stops completing writes for a while: a sync that finishes while the disk is
 * stalled is held back, and completes (in order, with every other held back) when the stall
 * ends, or at once when the simulation heals.
 */
export class DiskStall {
  private until = 0;
  private waiting: (() => void)[] = [];
  private readonly scheduler: Scheduler;

  constructor(scheduler: Scheduler) {
    this.scheduler = scheduler;
  }

  /** Nothing completes before virtual time `until`. */
  stall(until: number): void {
    this.until = Math.max(this.until, until);
    this.scheduler.at(this.until, () => this.release(false));
  }

  /** Runs `complete` now, or once the stall is over. */
  run(complete: () => void): void {
    if (this.scheduler.now < this.until) this.waiting.push(complete);
    else complete();
  }

  /** The stall ends now. */
  heal(): void {
    this.until = 0;
    this.release(true);
  }

  private release(force: boolean): void {
    if (!force && this.scheduler.now < this.until) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const complete of waiting) complete();
  }
}
