import { InvalidTransportOptionsError } from "./errors.js";

/** How long a sender waits before it opens a stream again after one failed. */
export interface BackoffOptions {
  /** The wait after the first failure, in milliseconds. Default 50. */
  readonly initialMs?: number;
  /** The longest wait, however many failures in a row. Default 2000. */
  readonly maxMs?: number;
  /**
   * The fraction of each wait that is random, in [0, 1]: a wait of `d` becomes a uniform pick
   * in [d × (1 - jitter), d]. Nodes that lost the same peer at the same moment then do not
   * reconnect in lockstep. Default 0.5.
   */
  readonly jitter?: number;
}

export type ResolvedBackoff = Required<BackoffOptions>;

/** Fills in the defaults and checks the ranges. */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const resolved = {
    initialMs: options.initialMs ?? 50,
    maxMs: options.maxMs ?? 2000,
    jitter: options.jitter ?? 0.5,
  };
  if (!(Number.isFinite(resolved.initialMs) && resolved.initialMs > 0)) {
    throw new InvalidTransportOptionsError(
      `expected backoff.initialMs to be a positive number of milliseconds, found ${resolved.initialMs}`,
    );
  }
  if (!(Number.isFinite(resolved.maxMs) && resolved.maxMs >= resolved.initialMs)) {
    throw new InvalidTransportOptionsError(
      `expected backoff.maxMs to be at least backoff.initialMs (${resolved.initialMs}), found ${resolved.maxMs}`,
    );
  }
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new InvalidTransportOptionsError(
      `expected backoff.jitter in [0, 1], found ${resolved.jitter}`,
    );
  }
  return resolved;
}

/**
 * The wait before attempt `failures` + 1, after `failures` (≥ 1) failures in a row: the initial
 * wait doubled per further failure, capped at `maxMs`, minus a random share of up to `jitter`.
 * `random` is a uniform pick in [0, 1), passed in so the policy is a pure function.
 */
export function backoffDelay(failures: number, backoff: ResolvedBackoff, random: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return ceiling * (1 - backoff.jitter * random);
}
