import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultWorkloadSettings } from "../load/workloads.js";
import { benchSettingsFromEnv, selectFigures } from "./machine.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("benchSettingsFromEnv", () => {
  it("keeps the defaults when nothing is set", () => {
    vi.stubEnv("RAFTSTORE_BENCH_KEYS", "");
    expect(benchSettingsFromEnv().settings.keys).toBe(defaultWorkloadSettings.keys);
  });

  it("takes the key space from RAFTSTORE_BENCH_KEYS", () => {
    vi.stubEnv("RAFTSTORE_BENCH_KEYS", "1");
    expect(benchSettingsFromEnv().settings.keys).toBe(1);
  });

  it("refuses a key space that is not a positive integer, naming the variable", () => {
    for (const bad of ["0", "-3", "2.5", "many"]) {
      vi.stubEnv("RAFTSTORE_BENCH_KEYS", bad);
      expect(() => benchSettingsFromEnv()).toThrow(
        `expected RAFTSTORE_BENCH_KEYS to be a positive integer, got "${bad}"`,
      );
    }
  });
});

describe("selectFigures", () => {
  const figures = [
    ["writes", "writes", 1],
    ["writes", "writes", 64],
    ["eventualReads", "serializableReads", 64],
  ] as const;

  it("selects every figure when nothing is named", () => {
    expect(selectFigures(figures, undefined)).toEqual(figures);
    expect(selectFigures(figures, " ")).toEqual(figures);
  });

  it("takes a name alone as every client count, and name:clients as one, in the figures' order", () => {
    expect(selectFigures(figures, "eventualReads:64, writes")).toEqual([
      figures[0],
      figures[1],
      figures[2],
    ]);
    expect(selectFigures(figures, "writes:64")).toEqual([figures[1]]);
  });

  it("refuses a name that matches no figure, listing the figures", () => {
    expect(() => selectFigures(figures, "writes:32")).toThrow(
      'no figure "writes:32"; the figures are writes:1, writes:64, eventualReads:64',
    );
  });
});
