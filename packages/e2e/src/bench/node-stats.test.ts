import { describe, expect, it } from "vitest";
import { describeNodes, parseNodeMetrics, windowStats } from "./node-stats.js";

// The lines prom-client's default metrics write, as a raftstore node serves them.
const scrape = (lagMax: number, major: number, minor: number) => `
# HELP nodejs_eventloop_lag_max_seconds The maximum recorded event loop delay.
# TYPE nodejs_eventloop_lag_max_seconds gauge
nodejs_eventloop_lag_max_seconds ${lagMax}
nodejs_eventloop_lag_p99_seconds 0.012
# TYPE nodejs_gc_duration_seconds histogram
nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 12
nodejs_gc_duration_seconds_sum{kind="minor"} ${minor}
nodejs_gc_duration_seconds_count{kind="minor"} 40
nodejs_gc_duration_seconds_sum{kind="major"} ${major}
nodejs_gc_duration_seconds_sum{kind="incremental"} 0.001
`;

describe("node stats from /metrics", () => {
  it("reads the event loop's worst delay and the GC time by kind", () => {
    expect(parseNodeMetrics(scrape(0.0731, 0.25, 0.5))).toEqual({
      eventLoopDelayMaxMs: 73.1,
      gcTotalMs: { minor: 500, major: 250, incremental: 1 },
    });
  });

  it("gives a window's GC time as the difference of two readings, and its last delay", () => {
    const before = parseNodeMetrics(scrape(0.5, 0.25, 0.5));
    const after = parseNodeMetrics(scrape(0.02, 0.3, 0.62));
    expect(windowStats(before, after)).toEqual({
      eventLoopDelayMaxMs: 20,
      gcMs: { minor: 120, major: 50, incremental: 0 },
    });
    expect(describeNodes([windowStats(before, after), undefined])).toBe(
      "loop delay ≤ 20 ms, GC 170 ms; ?",
    );
  });

  it("says nothing it did not find", () => {
    expect(parseNodeMetrics("# nothing here\n")).toEqual({
      eventLoopDelayMaxMs: Number.NaN,
      gcTotalMs: {},
    });
  });
});
