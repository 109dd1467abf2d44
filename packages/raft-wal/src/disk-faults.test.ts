import { describe, expect, it } from "vitest";
import { openDataDir } from "./data-dir.js";
import { isStoreFailedError, type StoreFailedError } from "./errors.js";
import type { SlowSyncInfo } from "./sync-guard.js";
import { entries, entry, recordingLogger, settle } from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { ManualClock } from "./testing/manual-clock.js";
import { fsError } from "./testing/sim-errors.js";
import { SimFileSystem, type SimOperation } from "./testing/sim-file-system.js";

const probe = (pid: number) => ({ pid, bootId: "boot", isAlive: (p: number) => p === pid });

/** A disk that fails the first call matching `fails` once `armed` is set, and logs every call. */
function faultyDisk(fails: (operation: SimOperation) => boolean) {
  const state = { armed: false, failedAt: -1 };
  const operations: SimOperation[] = [];
  const fs = new SimFileSystem({
    inject(operation) {
      operations.push(operation);
      if (!state.armed || state.failedAt >= 0 || !fails(operation)) return undefined;
      state.failedAt = operation.seq;
      return fsError("EIO", operation.kind, operation.path);
    },
  });
  return { fs, state, operations };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "resolved",
    (error: unknown) => error,
  );
}

/** A data directory holding entries 1 and 2 on a disk whose next `matches` call fails. */
async function armedAfterTwoEntries(matches: Parameters<typeof faultyDisk>[0]) {
  const disk = faultyDisk(matches);
  const dir = await openDataDir("/data", {
    fs: disk.fs,
    process: probe(1),
    logger: recordingLogger(),
  });
  await dir.log.append(entries(1, 2));
  disk.state.armed = true;
  return { disk, dir };
}

describe("disk faults", () => {
  it("stops every store on a failed fdatasync, acknowledges nothing after it, and never retries it", async () => {
    const { disk, dir } = await armedAfterTwoEntries((o) => o.kind === "datasync");

    const [a, b] = await Promise.all([
      rejection(dir.log.append([entry(3)])),
      rejection(dir.log.append([entry(4)])),
    ]);
    expect(isStoreFailedError(a)).toBe(true);
    expect(b).toBe(a);
    const failure = a as StoreFailedError;
    expect(failure.operation).toBe("fdatasync");
    expect((failure.cause as { code?: string }).code).toBe("EIO");
    expect(dir.failure).toBe(failure);

    const later = [
      dir.log.append([entry(5)]),
      dir.log.load(),
      dir.log.truncateAfter(1),
      dir.stable.save({ term: 5, vote: "x" }),
      dir.stable.load(),
      dir.snapshots.create({ index: 1, term: 1, config: { voters: [], learners: [] } }),
      dir.snapshots.latest(),
    ];
    for (const call of later) expect(await rejection(call)).toBe(failure);
    expect(
      disk.operations.filter((o) => o.seq > disk.state.failedAt && o.kind === "datasync"),
    ).toEqual([]);

    expect(await rejection(dir.close())).toBe(failure);
    expect(disk.fs.list("/data")).not.toContain("LOCK");
    const reopened = await openDataDir("/data", {
      fs: disk.fs.restart(keepUnsynced),
      process: probe(2),
    });
    expect((await reopened.log.load()).entries.slice(0, 2)).toEqual(entries(1, 2));
    await reopened.close();
  });

  it("names a failed append's write as the write, not as the sync it shares a call with", async () => {
    const { disk, dir } = await armedAfterTwoEntries((o) => o.kind === "write");
    const error = await rejection(dir.log.append([entry(3)]));
    expect(isStoreFailedError(error) && error.operation).toBe("write");
    expect(disk.operations.filter((o) => o.seq > disk.state.failedAt)).toEqual([]);
    await rejection(dir.close());
  });

  it("stops the log on a failed write, and on a failed directory sync while rotating", async () => {
    for (const fails of [
      (o: SimOperation) => o.kind === "write",
      (o: SimOperation) => o.kind === "syncDirectory",
    ]) {
      const disk = faultyDisk(fails);
      const dir = await openDataDir("/data", {
        fs: disk.fs,
        process: probe(1),
        segmentSize: 120,
        logger: recordingLogger(),
      });
      await dir.log.append([entry(1, 1, 40)]);
      disk.state.armed = true;
      const error = await rejection(dir.log.append([entry(2, 1, 40)]));
      expect(isStoreFailedError(error)).toBe(true);
      expect(await rejection(dir.log.append([entry(3)]))).toBe(error);
      expect(await rejection(dir.close())).toBe(error);
    }
  });

  it("stops every store when the hard state's sync fails, keeping the old state", async () => {
    const disk = faultyDisk((o) => o.kind === "datasync" && o.path.endsWith("stable.tmp"));
    const dir = await openDataDir("/data", {
      fs: disk.fs,
      process: probe(1),
      logger: recordingLogger(),
    });
    await dir.stable.save({ term: 1, vote: "a" });
    disk.state.armed = true;
    const error = await rejection(dir.stable.save({ term: 2, vote: "b" }));
    expect(isStoreFailedError(error) && error.path).toBe("/data/stable.tmp");
    expect(await rejection(dir.log.append([entry(1)]))).toBe(error);
    await rejection(dir.close());
    const reopened = await openDataDir("/data", {
      fs: disk.fs.restart(keepUnsynced),
      process: probe(2),
    });
    expect(await reopened.stable.load()).toEqual({ term: 1, vote: "a" });
    await reopened.close();
  });

  it("stops the stores when a snapshot's sync fails, and never shows that snapshot", async () => {
    const disk = faultyDisk((o) => o.kind === "datasync" && o.path.includes("/snapshots/"));
    const dir = await openDataDir("/data", {
      fs: disk.fs,
      process: probe(1),
      logger: recordingLogger(),
    });
    disk.state.armed = true;
    const sink = await dir.snapshots.create({
      index: 0,
      term: 0,
      config: { voters: ["a"], learners: [] },
    });
    await sink.write(new Uint8Array([1, 2, 3]));
    const error = await rejection(sink.commit());
    expect(isStoreFailedError(error)).toBe(true);
    await sink.abort();
    await rejection(dir.close());
    const reopened = await openDataDir("/data", {
      fs: disk.fs.restart(keepUnsynced),
      process: probe(2),
    });
    expect(await reopened.snapshots.latest()).toBeUndefined();
    await reopened.close();
  });

  it("reports a sync slower than the bound while it runs and when it ends, and measures it", async () => {
    const clock = new ManualClock();
    const held: (() => void)[] = [];
    let holding = false;
    const fs = new SimFileSystem({
      delay: (o) =>
        holding && o.kind === "datasync"
          ? new Promise<void>((resolve) => held.push(resolve))
          : undefined,
    });
    const reports: SlowSyncInfo[] = [];
    const dir = await openDataDir("/data", {
      fs,
      process: probe(1),
      clock,
      slowSyncMs: 50,
      onSlowSync: (info) => reports.push(info),
    });
    const syncsAtOpen = dir.metrics.syncs;

    holding = true;
    const append = dir.log.append([entry(1)]);
    await settle();
    expect(held).toHaveLength(1);
    clock.advance(30);
    expect(dir.metrics.oldestInFlightMs(clock.now())).toBe(30);
    await settle();
    expect(reports).toEqual([]);
    clock.advance(40);
    await settle();
    const path = "/data/wal/0000000000000001-0000000000000001.wal";
    expect(reports).toEqual([
      { path, kind: "fdatasync", elapsedMs: 50, thresholdMs: 50, completed: false },
    ]);

    clock.advance(30);
    held[0]?.();
    await append;
    await settle();
    expect(reports[1]).toEqual({
      path,
      kind: "fdatasync",
      elapsedMs: 100,
      thresholdMs: 50,
      completed: true,
    });
    expect(dir.metrics).toMatchObject({
      syncs: syncsAtOpen + 1,
      maxMs: 100,
      slowSyncs: 1,
      inFlight: 0,
    });
    holding = false;
    await dir.close();
  });

  it("counts syncs and their durations in fixed histogram buckets", async () => {
    const clock = new ManualClock();
    const durations = [0.1, 3, 3, 900, 20_000];
    let next: number | undefined;
    const fs = new SimFileSystem({
      delay: (o) => {
        if (o.kind !== "datasync" || next === undefined) return undefined;
        clock.advance(next);
        return undefined;
      },
    });
    const dir = await openDataDir("/data", {
      fs,
      process: probe(1),
      clock,
      logger: recordingLogger(),
    });
    const before = { syncs: dir.metrics.syncs, totalMs: dir.metrics.totalMs };
    for (const [i, duration] of durations.entries()) {
      next = duration;
      await dir.log.append([entry(i + 1)]);
    }
    next = undefined;
    const metrics = dir.metrics;
    expect(metrics.syncs - before.syncs).toBe(5);
    expect(metrics.totalMs - before.totalMs).toBeCloseTo(20_906.1);
    expect(metrics.maxMs).toBe(20_000);
    const bucket = (ms: number) => metrics.bucketBoundsMs.findIndex((bound) => ms <= bound);
    expect(metrics.bucketCounts[bucket(0.1)]).toBeGreaterThanOrEqual(1);
    expect(metrics.bucketCounts[bucket(3)]).toBe(2);
    expect(metrics.bucketCounts[bucket(900)]).toBe(1);
    expect(metrics.bucketCounts.at(-1)).toBe(1);
    const cumulative = metrics.cumulativeBuckets();
    expect(cumulative.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: metrics.syncs });
    expect(cumulative.at(-2)?.count).toBe(metrics.syncs - 1);
    await dir.close();
  });
});
