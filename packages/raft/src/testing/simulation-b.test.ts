import { describe, expect, it } from "vitest";
import { describeFailure, firstFailure } from "../test-support/simulation.js";

// The second half of the CI seed budget (see simulation-a.test.ts).

const chunks = [
  [121, 150],
  [151, 180],
  [181, 210],
  [211, 240],
] as const;

describe("deterministic simulation", () => {
  for (const [from, to] of chunks) {
    it(`keeps every invariant, recovers and stays linearizable for seeds ${from} to ${to}`, async () => {
      const failure = await firstFailure(from, to);
      expect(failure, describeFailure(failure)).toBeUndefined();
    }, 240_000);
  }
});
