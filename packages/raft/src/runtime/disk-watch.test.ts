import { describe, expect, it } from "vitest";
import { silentLogger } from "../logger.js";
import { DiskWatch } from "./disk-watch.js";
import type { RaftEvent } from "./events.js";

function watch(stallTicks = 10) {
  let now = 0;
  const events: RaftEvent[] = [];
  const w = new DiskWatch({
    id: "n1",
    clock: { now: () => now, setTimeout: () => undefined, clearTimeout: () => {} },
    logger: silentLogger,
    stallTicks,
    emit: (e) => events.push(e),
  });
  return { w, events, setNow: (ms: number) => (now = ms) };
}

describe("the disk watch", () => {
  it("reports a write unfinished for the bound once, escalates at twice the bound, and reports its end", () => {
    const { w, events, setNow } = watch();
    const stuck = w.begin(0);
    const verdicts = [];
    for (let tick = 1; tick <= 25; tick++) {
      setNow(tick * 10);
      verdicts.push(w.tick(tick));
    }
    expect(verdicts.filter((v) => v !== undefined)).toEqual(["stalled", "still-stalled"]);
    expect(verdicts.indexOf("stalled")).toBe(9);
    expect(verdicts.indexOf("still-stalled")).toBe(19);
    expect(w.stalls).toBe(1);
    expect(w.oldestInFlightMs()).toBe(250);
    w.end(stuck);
    expect(events).toEqual([
      { type: "diskStall", elapsedMs: 100, completed: false },
      { type: "diskStall", elapsedMs: 250, completed: true },
    ]);
    expect(w.oldestInFlightMs()).toBe(0);
  });

  it("counts ticks the node lived through, not clock time: a paused process is not a stalled disk", () => {
    const { w, setNow } = watch();
    w.begin(0);
    setNow(10);
    expect(w.tick(1)).toBeUndefined();
    // The process was frozen for a minute: one tick later, a minute of clock time has passed.
    setNow(60_000);
    expect(w.tick(2)).toBeUndefined();
    expect(w.stalls).toBe(0);
  });

  it("ends a stall only once every write issued up to the stalled one has finished", () => {
    const { w, events } = watch(2);
    const first = w.begin(0);
    const second = w.begin(0);
    w.tick(2);
    w.end(second);
    expect(events.map((e) => e.type === "diskStall" && e.completed)).toEqual([false]);
    w.end(first);
    expect(events.map((e) => e.type === "diskStall" && e.completed)).toEqual([false, true]);
  });
});
