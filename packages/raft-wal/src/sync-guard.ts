import type { Clock } from "./clock.js";
import { StoreFailedError } from "./errors.js";
import type { FileHandle } from "./file-system.js";
import type { SyncMetrics } from "./sync-metrics.js";

/** What was synced when a slow sync is reported. */
export type SyncKind = "fdatasync" | "fsync-directory";

/** A sync that took (or is taking) longer than the configured bound. */
export interface SlowSyncInfo {
  /** The file or directory being synced. */
  readonly path: string;
  readonly kind: SyncKind;
  /** How long the sync had run when reported, in milliseconds. */
  readonly elapsedMs: number;
  /** The configured bound it passed. */
  readonly thresholdMs: number;
  /**
   * false: reported while the sync is still running, as soon as it passes the bound (a stalled
   * disk is noticed without waiting for the sync to return); true: the sync has finished. A slow
   * sync is reported twice, first running and then finished.
   */
  readonly completed: boolean;
}

/** How syncs are watched. */
export interface SyncGuardOptions {
  readonly metrics: SyncMetrics;
  readonly clock: Clock;
  /** A sync longer than this is reported through `onSlowSync`. */
  readonly slowSyncMs: number;
  readonly onSlowSync?: ((info: SlowSyncInfo) => void) | undefined;
}

/**
 * Every sync and every write whose failure leaves a file in an unknown state goes through the
 * guard of its data directory. It times syncs, reports slow ones, and implements fail-stop: the
 * first failure is latched as a StoreFailedError, and from then on every store sharing the guard
 * refuses every call with that same error. A failed sync is never retried.
 */
export class SyncGuard {
  readonly metrics: SyncMetrics;
  readonly #clock: Clock;
  readonly #slowSyncMs: number;
  readonly #onSlowSync: ((info: SlowSyncInfo) => void) | undefined;
  #failure: StoreFailedError | undefined;

  constructor(options: SyncGuardOptions) {
    this.metrics = options.metrics;
    this.#clock = options.clock;
    this.#slowSyncMs = options.slowSyncMs;
    this.#onSlowSync = options.onSlowSync;
  }

  /** The failure that stopped the stores, if any. */
  get failure(): StoreFailedError | undefined {
    return this.#failure;
  }

  /** Throws the latched failure, if any. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Latches a failure (the first one wins) and returns the error every call now rejects with. */
  fail(operation: string, path: string, cause: unknown): StoreFailedError {
    this.#failure ??= new StoreFailedError(operation, path, cause);
    return this.#failure;
  }

  /**
   * Runs a mutation (write, truncate, unlink, …) whose failure leaves the store's files in a
   * state it can no longer vouch for: a failure stops the stores.
   */
  async mutate<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
    this.check();
    try {
      return await run();
    } catch (error) {
      throw this.fail(operation, path, error);
    }
  }

  /** Cuts a file to `size` and makes the cut durable; a failure of either stops the stores. */
  async truncateDurably(path: string, handle: FileHandle, size: number): Promise<void> {
    await this.mutate("truncate", path, () => handle.truncate(size));
    await this.sync(path, "fdatasync", () => handle.datasync());
  }

  /**
   * Runs a sync (or a write and its sync, FileHandle.writeAndSync): timed, reported when slow,
   * and fatal when it fails. A failed write is reported as the "write" it is.
   */
  async sync(path: string, kind: SyncKind, run: () => Promise<void>): Promise<void> {
    this.check();
    const clock = this.#clock;
    const started = clock.now();
    const token = this.metrics.start(started);
    const cancelWatchdog =
      this.#onSlowSync === undefined
        ? undefined
        : clock.setTimeout(
            () => this.#report({ path, kind, elapsedMs: clock.now() - started, completed: false }),
            this.#slowSyncMs,
          );
    try {
      await run();
    } catch (error) {
      cancelWatchdog?.();
      this.metrics.fail(token);
      throw this.fail(isFailedWrite(error) ? "write" : kind, path, error);
    }
    cancelWatchdog?.();
    const elapsedMs = clock.now() - started;
    const slow = elapsedMs > this.#slowSyncMs;
    this.metrics.complete(token, elapsedMs, slow);
    if (slow) this.#report({ path, kind, elapsedMs, completed: true });
  }

  #report(info: Omit<SlowSyncInfo, "thresholdMs">): void {
    const onSlowSync = this.#onSlowSync;
    if (onSlowSync === undefined) return;
    const report = { ...info, thresholdMs: this.#slowSyncMs };
    // A throwing callback is the caller's bug: it surfaces as an uncaught exception, as an
    // EventEmitter listener's would, instead of failing (or silently skipping) the sync.
    queueMicrotask(() => onSlowSync(report));
  }
}

function isFailedWrite(error: unknown): boolean {
  return error instanceof Error && (error as { syscall?: unknown }).syscall === "write";
}
