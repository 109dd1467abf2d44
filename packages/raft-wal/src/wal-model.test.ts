import type { Entry, LogContents } from "@raftstore/raft";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUnsupportedFormatError, isWalCorruptionError } from "./errors.js";
import {
  checkLogExplained,
  type LogOperation,
  type Tracked,
} from "./test-support/crash-workload.js";
import { entry, newGuard, openTestWal, recordingLogger, settle } from "./test-support/fixtures.js";
import { keepUnsynced, randomCrash } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";
import { openWal, type Wal } from "./wal.js";

// Property tests: random sequences of log calls, checked against a model of the log; the same
// sequences crashed at a random call; and random bytes where a crash could have left some.
// Seeds are fixed, so every run checks the same cases.

type Step =
  | { readonly kind: "append"; readonly count: number; readonly size: number }
  | { readonly kind: "truncateAfter"; readonly back: number }
  | { readonly kind: "compact"; readonly back: number }
  | { readonly kind: "reset"; readonly ahead: number }
  | { readonly kind: "reopen" };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      count: fc.integer({ min: 1, max: 4 }),
      size: fc.integer({ min: 0, max: 260 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("truncateAfter" as const),
      back: fc.integer({ min: 0, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("compact" as const),
      back: fc.integer({ min: 0, max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reset" as const),
      ahead: fc.integer({ min: 0, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

const segmentSize = 400;

interface Model {
  floor: number;
  maxCompacted: number;
  entries: Entry[];
  next: number;
  term: number;
}

/** Runs the steps on `fs`, tracking each log call in `log`; with `check`, compares with the model. */
async function run(
  fs: SimFileSystem,
  steps: readonly Step[],
  log: Tracked<LogOperation>[],
  check: boolean,
) {
  let wal: Wal = await openTestWal(fs, { segmentSize });
  const model: Model = { floor: 0, maxCompacted: 0, entries: [], next: 1, term: 1 };
  const track = async (operation: LogOperation, call: Promise<void>) => {
    const record = { value: operation, acknowledged: false };
    log.push(record);
    await call;
    record.acknowledged = true;
  };
  for (const s of steps) {
    const last = model.next - 1;
    model.term++;
    if (s.kind === "append") {
      const batch = Array.from({ length: s.count }, (_, i) =>
        entry(model.next + i, model.term, s.size),
      );
      await track({ kind: "append", entries: batch }, wal.append(batch));
      model.entries.push(...batch);
      model.next += s.count;
    } else if (s.kind === "truncateAfter") {
      const index = Math.max(model.maxCompacted, last - s.back);
      await track({ kind: "truncateAfter", index }, wal.truncateAfter(index));
      model.entries = model.entries.filter((e) => e.index <= index);
      model.next = Math.min(model.next, index + 1);
    } else if (s.kind === "compact") {
      const index = Math.max(model.floor, last - s.back);
      await track({ kind: "compact", index }, wal.compact(index));
      model.maxCompacted = Math.max(model.maxCompacted, index);
    } else if (s.kind === "reset") {
      const index = last + s.ahead;
      await track({ kind: "reset", index }, wal.reset(index));
      Object.assign(model, { floor: index, maxCompacted: index, entries: [], next: index + 1 });
    } else {
      await wal.close();
      const options = { segmentSize };
      wal = await openWal({
        fs,
        dir: "/wal",
        guard: newGuard(),
        logger: recordingLogger(),
        options,
      });
    }
    if (check) expectModel(await wal.load(), model);
  }
  await wal.close();
}

function expectModel(loaded: LogContents, model: Model): void {
  expect(loaded.compactedIndex + loaded.entries.length).toBe(model.next - 1);
  expect(loaded.compactedIndex).toBeGreaterThanOrEqual(model.floor);
  expect(loaded.compactedIndex).toBeLessThanOrEqual(Math.max(model.floor, model.maxCompacted));
  expect(loaded.entries).toEqual(model.entries.filter((e) => e.index > loaded.compactedIndex));
}

describe("the log under random calls", () => {
  it("always holds what a model of the log holds, across reopens", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        await run(new SimFileSystem(), steps, [], true);
      }),
      { seed: 1, numRuns: 150 },
    );
  });

  it("after a crash at a random call, holds a log the issued calls explain", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(),
        async (steps, where, seed) => {
          const complete = new SimFileSystem();
          await run(complete, steps, [], false);
          const fs = new SimFileSystem({ crashAt: Math.floor(where * complete.calls) });
          const log: Tracked<LogOperation>[] = [];
          void run(fs, steps, log, false);
          await settle();
          const disk = fs.restart(randomCrash(seed));
          // A crash before the log's first segment was durable leaves no log: it starts anew.
          const wal = await openTestWal(disk, { segmentSize });
          checkLogExplained(log, await wal.load());
        },
      ),
      { seed: 2, numRuns: 150 },
    );
  });

  it("accepts nothing but a torn tail from random bytes after the last record", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize });
    const written = [entry(1, 1, 30), entry(2, 1, 5), entry(3, 2, 60)];
    await wal.append(written);
    await wal.close();
    const [segment] = fs.list("/wal") as [string];
    const path = `/wal/${segment}`;
    const original = fs.contents(path) as Uint8Array;

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (garbage) => {
        const disk = fs.restart(keepUnsynced);
        disk.overwrite(path, Buffer.concat([original, garbage]));
        const outcome = await openWal({
          fs: disk,
          dir: "/wal",
          guard: newGuard(),
          logger: recordingLogger(),
        })
          .then((opened) => opened.load())
          .catch((error: unknown) => error);
        if (isWalCorruptionError(outcome) || isUnsupportedFormatError(outcome)) return;
        expect((outcome as LogContents).entries).toEqual(written);
      }),
      { seed: 3, numRuns: 300 },
    );
  });
});
