import { afterEach } from "vitest";
import type { Backend } from "../backend.js";
import { casTests } from "./cases-cas.js";
import { contractTests } from "./cases-contract.js";
import { deleteIncarnationTests } from "./cases-delete-incarnation.js";
import { listTests } from "./cases-list.js";
import { overwriteTests } from "./cases-overwrite.js";
import { readTests } from "./cases-read.js";
import { watchTests } from "./cases-watch.js";
import type { Timing } from "./helpers.js";
import type { BackendContext, ConformanceOptions } from "./options.js";

/** What every group of cases receives. */
export interface SuiteContext {
  options: ConformanceOptions;
  timing: Timing;
  testTimeoutMs: number;
  /** A fresh backend, released when the current test ends. */
  newBackend(): Promise<Backend>;
  /** A fresh backend for a group of tests, released by `release`. */
  openShared(): Promise<{ backend: Backend; release: () => Promise<void> }>;
}

async function open(options: ConformanceOptions) {
  const cleanups: Array<() => void | Promise<void>> = [];
  const context: BackendContext = { onCleanup: (fn) => void cleanups.push(fn) };
  const backend = await options.newBackend(context);
  const release = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  return { backend, release };
}

/**
 * Registers the storage conformance suite with vitest. Call it inside a test file:
 *
 * ```ts
 * import { runConformance } from "@raftstore/storage/conformance";
 * runConformance({ newBackend: () => new MyBackend(), supportsStronglyConsistentList: true });
 * ```
 *
 * It covers every case of Consul's suite under the same names (Read, CAS Write, CAS Delete,
 * ListByOwner, List, WatchList), plus the contract's other promises (immutability, events only
 * for successful changes, concurrent CAS, watches opened during bursts, aborts, bad input), and
 * with `overwrite: true` the optional `OverwritingBackend.overwrite`, with
 * `deleteIncarnation: true` the optional `IncarnationDeletingBackend.deleteIncarnation`.
 */
export function runConformance(options: ConformanceOptions): void {
  if (typeof options?.newBackend !== "function") {
    throw new TypeError("runConformance: options.newBackend must be a function");
  }
  const timing: Timing = {
    eventuallyTimeoutMs: options.eventuallyTimeoutMs ?? 7000,
    eventuallyIntervalMs: options.eventuallyIntervalMs ?? 25,
    nextTimeoutMs: options.nextTimeoutMs ?? 5000,
  };
  let pending: Array<() => Promise<void>> = [];
  afterEach(async () => {
    const releases = pending;
    pending = [];
    for (const release of releases) await release();
  });
  const context: SuiteContext = {
    options,
    timing,
    testTimeoutMs: options.testTimeoutMs ?? 30_000,
    async newBackend() {
      const { backend, release } = await open(options);
      pending.push(release);
      return backend;
    },
    openShared: () => open(options),
  };
  readTests(context);
  casTests(context);
  listTests(context);
  watchTests(context);
  contractTests(context);
  if (options.overwrite) overwriteTests(context);
  if (options.deleteIncarnation) deleteIncarnationTests(context);
}
