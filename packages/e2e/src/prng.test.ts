import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";

const draw = (seed: number, n = 8) => {
  const prng = createPrng(seed);
  return Array.from({ length: n }, () => prng.next());
};

describe("createPrng", () => {
  it("replays the same choices from the same seed", () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it("draws floats in [0, 1) and integers in [0, n)", () => {
    const prng = createPrng(7);
    for (let i = 0; i < 1000; i++) {
      const x = prng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const k = prng.int(5);
      expect(Number.isInteger(k) && k >= 0 && k < 5).toBe(true);
    }
  });

  it("forks streams that depend only on the seed and the stream number", () => {
    const a = createPrng(1);
    a.next();
    const forked = a.fork(3);
    const again = createPrng(1).fork(3);
    expect([forked.next(), forked.next()]).toEqual([again.next(), again.next()]);
    expect(createPrng(1).fork(4).next()).not.toBe(createPrng(1).fork(3).next());
  });

  it("refuses seeds and bounds it cannot use", () => {
    expect(() => createPrng(1.5)).toThrow(/expected an integer seed, got 1.5/);
    expect(() => createPrng(1).int(0)).toThrow(RangeError);
    expect(() => createPrng(1).pick([])).toThrow(/non-empty array/);
  });
});
