/**
 * Upper bounds, in milliseconds, of the sync latency histogram: 0.125 ms to about 8 s, doubling.
 * Fixed, so that histograms of different nodes and runs add up (etcd's
 * wal_fsync_duration_seconds uses the same doubling from 1 ms).
 */
export const syncLatencyBucketsMs: readonly number[] = Object.freeze(
  Array.from({ length: 17 }, (_, i) => 0.125 * 2 ** i),
);

/**
 * How long the disk takes to make data durable: every fdatasync and directory fsync of every
 * store of a data directory, counted and timed. The server exports it to Prometheus (a
 * histogram: `cumulativeBuckets()` gives the `le` series, `syncs` the count, `totalMs` the sum)
 * and watches `oldestInFlightMs` so that a leader on a stalled disk can step down.
 */
export class SyncMetrics {
  /** Completed syncs (successful ones; failures are counted in `failedSyncs`). */
  syncs = 0;
  /** Sum of the durations of the completed syncs, in milliseconds. */
  totalMs = 0;
  /** The longest completed sync, in milliseconds. */
  maxMs = 0;
  /** Syncs that took longer than the slow-sync bound (stalled ones count once they finish). */
  slowSyncs = 0;
  /** Syncs that failed (each one stopped the stores). */
  failedSyncs = 0;
  /** The histogram's upper bounds, in milliseconds (`syncLatencyBucketsMs`). */
  readonly bucketBoundsMs = syncLatencyBucketsMs;
  /**
   * Completed syncs per bucket (not cumulative): `bucketCounts[i]` counts the durations in
   * (bound[i-1], bound[i]]; the last element counts those above the last bound.
   */
  readonly bucketCounts: number[] = new Array(syncLatencyBucketsMs.length + 1).fill(0);
  readonly #inFlight = new Map<number, number>();
  #nextToken = 0;

  /** Syncs in progress right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * How long the oldest sync in progress has been running at `now` (the clock the stores use),
   * or 0 when none is. A value that keeps growing is a stalled disk.
   */
  oldestInFlightMs(now: number): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const started of this.#inFlight.values()) oldest = Math.min(oldest, started);
    return oldest === Number.POSITIVE_INFINITY ? 0 : now - oldest;
  }

  /** The histogram as Prometheus wants it: cumulative counts per upper bound, then +Inf. */
  cumulativeBuckets(): { le: number; count: number }[] {
    let running = 0;
    const buckets = this.bucketBoundsMs.map((le, i) => {
      running += this.bucketCounts[i] ?? 0;
      return { le, count: running };
    });
    buckets.push({ le: Number.POSITIVE_INFINITY, count: this.syncs });
    return buckets;
  }

  /** @internal Marks a sync as started; returns the token that ends it. */
  start(now: number): number {
    const token = this.#nextToken++;
    this.#inFlight.set(token, now);
    return token;
  }

  /** @internal Records a completed sync. */
  complete(token: number, durationMs: number, slow: boolean): void {
    this.#inFlight.delete(token);
    this.syncs++;
    this.totalMs += durationMs;
    this.maxMs = Math.max(this.maxMs, durationMs);
    if (slow) this.slowSyncs++;
    let bucket = this.bucketBoundsMs.findIndex((bound) => durationMs <= bound);
    if (bucket < 0) bucket = this.bucketBoundsMs.length;
    this.bucketCounts[bucket] = (this.bucketCounts[bucket] ?? 0) + 1;
  }

  /** @internal Records a failed sync. */
  fail(token: number): void {
    this.#inFlight.delete(token);
    this.failedSyncs++;
  }
}
