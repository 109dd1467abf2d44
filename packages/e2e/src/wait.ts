import { WaitTimeoutError } from "./errors.js";

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
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
}

/** The outcome of one probe of `waitFor`: done with a value, or not yet with what was seen. */
export type Probe<T> = { done: true; value: T } | { done: false; seen: string };

export interface WaitForOptions {
  /** Give up after this long. Default 20 s: generous, because the machine may be busy. */
  timeoutMs?: number;
  /** Pause between probes. Default 50 ms. */
  intervalMs?: number;
}

/**
 * Probes until `probe` says done, and returns its value. A probe that throws counts as "not
 * yet" (the cluster may be between leaders), and its message becomes what was last seen.
 * @throws WaitTimeoutError naming `what` and the last observation, once `timeoutMs` passed.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<Probe<T>>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let seen = "nothing yet";
  for (;;) {
    try {
      const result = await probe();
      if (result.done) return result.value;
      seen = result.seen;
    } catch (error) {
      seen = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (performance.now() >= deadline) throw new WaitTimeoutError(what, timeoutMs, seen);
    await sleep(intervalMs);
  }
}

/**
 * `promise`, or a WaitTimeoutError naming `what` once `timeoutMs` passed without it settling.
 * The promise itself is not cancelled.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WaitTimeoutError(what, timeoutMs, "it had not happened yet")),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
