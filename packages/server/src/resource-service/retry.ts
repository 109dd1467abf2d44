import { type CallOptions, isCASFailureError } from "@raftstore/storage";

/** How blanket operations retry when another writer got there first. */
export interface RetryPolicy {
  /** Attempts in all, including the first. Default 5. */
  attempts: number;
  /** The first backoff, in ms; it doubles up to `maxDelayMs`, with ±50 % jitter. Default 50. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Runs a read-modify-write. When the caller named a version, it is their compare-and-swap and
 * runs once; a blanket operation (no version) is retried with backoff on CASFailureError only.
 * `options.signal` ends a backoff early; it is read only when there is one to wait out.
 */
export async function retryCAS<T>(
  blanket: boolean,
  attempt: () => Promise<T>,
  policy: RetryPolicy = defaultRetryPolicy,
  options?: CallOptions,
): Promise<T> {
  const attempts = blanket ? policy.attempts : 1;
  let delay = policy.baseDelayMs;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= attempts || !isCASFailureError(error)) throw error;
    }
    await sleep(delay * (0.5 + Math.random()), options?.signal);
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
}
