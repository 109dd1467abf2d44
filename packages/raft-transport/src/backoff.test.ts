import { describe, expect, it } from "vitest";
import { backoffDelay, resolveBackoff } from "./backoff.js";
import { isInvalidTransportOptionsError } from "./errors.js";

describe("the reconnect backoff", () => {
  const policy = resolveBackoff({ initialMs: 50, maxMs: 2000, jitter: 0.5 });

  it("doubles from the initial wait and stops at the cap", () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(n, policy, 0));
    expect(ceilings).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  it("takes a random share of up to the jitter off each wait", () => {
    expect(backoffDelay(3, policy, 0)).toBe(200);
    expect(backoffDelay(3, policy, 0.5)).toBe(150);
    expect(backoffDelay(3, policy, 0.999)).toBeCloseTo(100.1, 5);
    const noJitter = resolveBackoff({ jitter: 0 });
    expect(backoffDelay(2, noJitter, 0.9)).toBe(100);
  });

  it("refuses options out of range with a clear error", () => {
    for (const bad of [{ initialMs: 0 }, { initialMs: 100, maxMs: 50 }, { jitter: 1.5 }]) {
      expect(() => resolveBackoff(bad)).toThrow(/expected backoff\./);
      try {
        resolveBackoff(bad);
      } catch (error) {
        expect(isInvalidTransportOptionsError(error)).toBe(true);
      }
    }
  });
});
