import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { committedIndex, hasQuorum, voteOutcome } from "./quorum.js";

// Quorum arithmetic checked against a brute-force oracle.

const voterSets = fc
  .integer({ min: 1, max: 7 })
  .map((n) => Array.from({ length: n }, (_, i) => `n${i}`));

describe("majority quorums", () => {
  it("commit at the highest index that a majority of voters has reached", () => {
    fc.assert(
      fc.property(
        voterSets.chain((voters) =>
          fc.tuple(
            fc.constant(voters),
            fc.array(fc.nat(20), { minLength: voters.length, maxLength: voters.length }),
          ),
        ),
        ([voters, acked]) => {
          const got = committedIndex(voters, (id) => acked[voters.indexOf(id)] ?? 0);
          const majority = Math.floor(voters.length / 2) + 1;
          const oracle = Math.max(
            ...[0, ...acked].filter((i) => acked.filter((a) => a >= i).length >= majority),
          );
          expect(got).toBe(oracle);
        },
      ),
    );
  });

  it("decide an election once a majority granted or a majority can no longer grant", () => {
    fc.assert(
      fc.property(
        voterSets.chain((voters) =>
          fc.tuple(
            fc.constant(voters),
            fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), {
              minLength: voters.length,
              maxLength: voters.length,
            }),
          ),
        ),
        ([voters, answers]) => {
          const votes = new Map<string, boolean>();
          voters.forEach((id, i) => {
            const a = answers[i];
            if (a !== undefined) votes.set(id, a);
          });
          const granted = answers.filter((a) => a === true).length;
          const open = answers.filter((a) => a === undefined).length;
          const majority = Math.floor(voters.length / 2) + 1;
          const expected =
            granted >= majority ? "won" : granted + open < majority ? "lost" : "pending";
          expect(voteOutcome(voters, votes)).toBe(expected);
        },
      ),
    );
  });

  it("count a quorum of active voters only among voters", () => {
    expect(hasQuorum(["a", "b", "c"], (id) => id === "a" || id === "x")).toBe(false);
    expect(hasQuorum(["a", "b", "c"], (id) => id !== "c")).toBe(true);
  });
});
