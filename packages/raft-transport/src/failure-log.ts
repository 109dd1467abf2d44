/** What a log line about a failing stream reports of the failures it stands for. */
export interface FailureLine {
  /** Failures since the last line, this one included (1 for a first failure). */
  readonly failures: number;
  /** Messages dropped by those failures. */
  readonly dropped: number;
}

/** At most one warning per this many ms while failures go on (the first comes at once). */
export const FAILURE_LOG_INTERVAL_MS = 30_000;

/**
 * Which failures get a log line: the first ever, the first of a new run (`newRun`: an outbound
 * stream that failed again after working), then at most one per `intervalMs` while they go on,
 * each line counting the failures and the dropped messages it stands for. A stream retries every second or two once its backoff is at its
 * longest, so a peer that is down for an hour would otherwise write thousands of identical
 * warnings per stream; at 30 s it writes about 120, and the first one still comes at once.
 */
export class FailureLog {
  readonly #intervalMs: number;
  #lastLineAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #dropped = 0;

  constructor(intervalMs = FAILURE_LOG_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /**
   * Records a failure at `now` (ms, monotonic) that dropped `dropped` messages; returns the line
   * to log, or undefined to stay silent.
   */
  failed(now: number, { newRun = false, dropped = 0 } = {}): FailureLine | undefined {
    this.#failures++;
    this.#dropped += dropped;
    if (!newRun && now - this.#lastLineAt < this.#intervalMs) return undefined;
    const line = { failures: this.#failures, dropped: this.#dropped };
    this.#lastLineAt = now;
    this.#failures = 0;
    this.#dropped = 0;
    return line;
  }
}
