import { describe, expect, it } from "vitest";
import { percentile, summarizeLatencies } from "./latency.js";

describe("percentile", () => {
  it("picks the nearest-rank sample, never an interpolation", () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 0.5)).toBe(5);
    expect(percentile(sorted, 0.9)).toBe(9);
    expect(percentile(sorted, 0.99)).toBe(10);
    expect(percentile(sorted, 1)).toBe(10);
    expect(percentile([7], 0.01)).toBe(7);
  });

  it("is NaN without samples and refuses quantiles outside (0, 1]", () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(/expected a quantile in \(0, 1\], got 0/);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});

describe("summarizeLatencies", () => {
  it("sorts a copy of the samples and reports p50, p90, p99, max and mean", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    const summary = summarizeLatencies(samples);
    expect(summary).toEqual({ p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(samples[0]).toBe(100);
  });

  it("reports NaN for a run without successful operations", () => {
    expect(summarizeLatencies([]).p99).toBeNaN();
  });
});
