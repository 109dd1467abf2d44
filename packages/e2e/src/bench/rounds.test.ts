import { describe, expect, it } from "vitest";
import type { LoadResult } from "../load/run-load.js";
import { etcdFirst, median, summarizeRounds } from "./rounds.js";

function result(throughput: number, p50: number, p99: number, cpuUs: number): LoadResult {
  return {
    clients: 64,
    seconds: 5,
    operations: throughput * 5,
    throughput,
    latencyMs: { p50, p90: p99, p99, max: p99, mean: p50 },
    errors: {},
    clientCpu: 0.5,
    clusterCpu: 1.2,
    clusterCpuPerOperationUs: cpuUs,
  };
}

describe("median", () => {
  it("takes the middle value of an odd count and the mean of the middle two of an even one", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it("leaves its input unsorted and refuses an empty list", () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe("summarizeRounds", () => {
  it("reports each round's ratios and the median of each ratio over the rounds", () => {
    const summary = summarizeRounds(64, [
      { raftstore: result(1100, 10, 40, 500), etcd: result(1000, 11, 50, 400) },
      // A round raftstore lost to a burst of other work: the median drops it.
      { raftstore: result(600, 20, 90, 900), etcd: result(1000, 11, 50, 450) },
      { raftstore: result(1200, 9, 45, 420), etcd: result(1000, 10, 50, 500) },
    ]);
    expect(summary.rounds.map((round) => round.ratio.throughput)).toEqual([1.1, 0.6, 1.2]);
    expect(summary.ratio).toEqual({ throughput: 1.1, p50: 0.91, p99: 0.9, cpuPerOperation: 1.25 });
    expect(summary.roundsMeetingGoal).toBe(2);
    expect(summary.clients).toBe(64);
  });

  it("does not count a round whose throughput is ahead but whose p99 is behind", () => {
    const summary = summarizeRounds(64, [
      { raftstore: result(1100, 10, 60, 500), etcd: result(1000, 11, 50, 400) },
    ]);
    expect(summary.ratio.throughput).toBe(1.1);
    expect(summary.ratio.p99).toBe(1.2);
    expect(summary.roundsMeetingGoal).toBe(0);
  });
});

describe("etcdFirst", () => {
  it("alternates from figure to figure and from round to round", () => {
    expect([0, 1, 2, 3].map((figure) => etcdFirst(figure, 0))).toEqual([true, false, true, false]);
    expect([0, 1, 2, 3].map((figure) => etcdFirst(figure, 1))).toEqual([false, true, false, true]);
  });
});
