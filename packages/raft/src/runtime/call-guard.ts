import { TimeoutError } from "../errors.js";
import type { Clock, TimerHandle } from "./clock.js";
import type { Waiter } from "./proposals.js";

/** Options of a call that waits for the cluster. */
export interface CallOptions {
  /** Rejects the call with the signal's reason when aborted. */
  readonly signal?: AbortSignal;
  /** Rejects the call with a TimeoutError after this many milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * Wraps a promise's settle functions with a call's abort signal and timeout (on `clock`, so a
 * simulation times out on virtual time). Returns undefined when the signal is already aborted
 * (the promise is rejected then). A call with neither gets the promise's own functions: that is
 * the hot path of every proposal, and allocates nothing.
 */
export function guardCall<T>(
  clock: Clock,
  resolve: (value: T) => void,
  reject: (error: Error) => void,
  options: CallOptions,
  what: string,
): Waiter<T> | undefined {
  const { signal, timeoutMs } = options;
  if (signal === undefined && timeoutMs === undefined) return { resolve, reject };
  if (signal?.aborted === true) {
    reject(signal.reason as Error);
    return undefined;
  }
  let settled = false;
  let timer: TimerHandle | undefined;
  const onAbort = () => waiter.reject(signal?.reason as Error);
  const finish = () => {
    settled = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const waiter: Waiter<T> = {
    resolve: (value) => {
      if (settled) return;
      finish();
      resolve(value);
    },
    reject: (error) => {
      if (settled) return;
      finish();
      reject(error);
    },
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined) {
    timer = clock.setTimeout(() => waiter.reject(new TimeoutError(what, timeoutMs)), timeoutMs);
  }
  return waiter;
}
