import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { EntryType } from "../log-types.js";
import { Prng } from "./prng.js";
import { Scheduler } from "./scheduler.js";
import { SimProcess } from "./sim-process.js";
import { simDiskStorage } from "./sim-storage.js";

describe("the simulation's default stores", () => {
  it("report a broken invariant they observe as a violation of it, not as an engine failure", async () => {
    const scheduler = new Scheduler();
    const violations: unknown[] = [];
    const broken = new Error("log matching: n1 appends entry 1 over another term");
    const storage = simDiskStorage({
      id: "n1",
      process: new SimProcess("n1", scheduler, 1, 0),
      scheduler,
      rng: new Prng(1),
      observer: {
        logAppended: () => {
          throw broken;
        },
        logTruncated: () => {},
        hardStateDurable: () => {},
      },
      violation: (error) => violations.push(error),
      stallRate: 0,
      trace: () => {},
    });
    const { logStore } = await storage.open();
    // The engine's call goes through; the checker hears of the violation itself.
    const appended = logStore.append([createEntry(1, 1, EntryType.Normal, new Uint8Array([1]))]);
    expect(violations).toEqual([broken]);
    while (scheduler.step()) {}
    await appended;
  });
});
