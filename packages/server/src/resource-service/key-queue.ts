const ignore = () => {};
/** Calls `task` now; a synchronous throw becomes a rejection. */
const invoke = async <T>(task: () => Promise<T>): Promise<T> => task();

/**
 * Runs the tasks given for one key one after another, in the order they came; tasks for
 * different keys run at once. A task that fails does not stop the ones after it. A key is
 * forgotten once its last task settled, so memory follows the keys in use, not the keys seen.
 *
 * A caller whose signal aborts while its task waits gets the abort at once; its task is then
 * skipped, and the task after it still waits for the one before (the order holds).
 */
export class KeyQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }

  /**
   * Runs `task` after every task given before for `key`. `signal` is read only when the task
   * has to wait (reading it can cost an AbortController).
   */
  run<T>(
    key: string,
    task: () => Promise<T>,
    options?: { readonly signal?: AbortSignal },
  ): Promise<T> {
    const previous = this.#tails.get(key);
    let result: Promise<T>;
    let signal: AbortSignal | undefined;
    if (previous === undefined) {
      result = invoke(task);
    } else {
      signal = options?.signal;
      result = previous.then(() => {
        signal?.throwIfAborted();
        return task();
      });
    }
    const tail = result.then(ignore, ignore);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return signal === undefined ? result : untilAborted(result, signal);
  }
}

/** `promise`, or the abort of `signal` if that comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
