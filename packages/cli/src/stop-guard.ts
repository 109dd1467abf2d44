import { performance } from "node:perf_hooks";
import { type CliIo, exitCodeForStop, type StopRequest } from "./io.js";

/**
 * How long after the first stop request a second one is taken as "stop now". Ctrl-C under
 * `npm start` reaches the process twice within milliseconds (the terminal signals the whole
 * process group, and npm forwards the SIGINT it received to its child), so a second request
 * inside this window is the same keypress, not an impatient user.
 */
export const DUPLICATE_STOP_WINDOW_MS = 1000;

/** A command's view of stop requests while it runs. */
export interface StopGuard extends Disposable {
  /** Aborted at the first stop request, with the request as its reason. */
  readonly signal: AbortSignal;
  /** The first stop request received, if any. */
  readonly request: StopRequest | undefined;
}

export interface StopGuardOptions {
  /** Runs at the first request, to say what happens now. */
  onFirst?(request: StopRequest): void;
  /** Runs at the second request, just before the process exits (e.g. to kill children). */
  onForce?(request: StopRequest): void;
}

/**
 * Listens for stop requests while a command runs: the first aborts `signal` (the command then
 * finishes gracefully: a client call is cancelled, a node shuts down cleanly); a second one,
 * later than DUPLICATE_STOP_WINDOW_MS after the first, ends the process at once with
 * 128 + the signal's number.
 */
export function guardStops(io: CliIo, options: StopGuardOptions = {}): StopGuard {
  const controller = new AbortController();
  let first: { request: StopRequest; at: number } | undefined;
  const unsubscribe = io.onStop((request) => {
    const now = performance.now();
    if (first === undefined) {
      first = { request, at: now };
      options.onFirst?.(request);
      controller.abort(request);
      return;
    }
    if (now - first.at >= DUPLICATE_STOP_WINDOW_MS) {
      io.stderr.write(`raftstore: ${request} again: exiting now\n`);
      options.onForce?.(request);
      io.exitNow(exitCodeForStop(request));
    }
  });
  return {
    signal: controller.signal,
    get request() {
      return first?.request;
    },
    [Symbol.dispose]: unsubscribe,
  };
}
