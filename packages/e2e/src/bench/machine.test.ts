import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultWorkloadSettings } from "../load/workloads.js";
import { benchSettingsFromEnv } from "./machine.js";

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
