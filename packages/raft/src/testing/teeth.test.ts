import { describe, expect, it } from "vitest";
import { describeFailure, firstFailure } from "../test-support/simulation.js";

// The harness has teeth: with one safety rule of the engine switched off (a test-only switch),
// the simulation finds a violation within a small seed budget. If one of these starts passing,
// the simulation has lost its power to see that class of bug.

describe("the simulation catches a disabled safety rule", () => {
  it("granting votes without the up-to-date check breaks leader completeness", async () => {
    const failure = await firstFailure(1, 40, { unsafe: { skipVoteUpToDateCheck: true } });
    expect(failure, "no violation found in seeds 1..40").toBeDefined();
    expect(failure?.violation?.invariant, describeFailure(failure)).toMatch(
      /leader completeness|committed entries never change|state-machine safety|log matching/,
    );
    expect(failure?.replay).toBe(
      `npm run sim -w @raftstore/raft -- --seed ${failure?.seed} --unsafe skipVoteUpToDateCheck`,
    );
  }, 120_000);

  it("serving ReadIndex before the term's first commit yields a stale read the checker rejects", async () => {
    // Frequent leadership transfers and pauses make new leaders whose commit index briefly lags
    // the cluster's: the window this rule closes. (The same scenario passes with the rule on.)
    const churn = { transferRate: 0.3, pauseRate: 0.2, faultIntervalMs: 50, clients: 5, nodes: 3 };
    const failure = await firstFailure(1, 60, {
      ...churn,
      unsafe: { readIndexBeforeTermCommit: true },
    });
    expect(failure, "no violation found in seeds 1..60").toBeDefined();
    expect(failure?.violation?.invariant, describeFailure(failure)).toBe("linearizability");
    expect(failure?.violation?.message).toMatch(/not linearizable/);
  }, 240_000);

  it("the read-churn scenario passes with every rule on (the violation above is the rule's)", async () => {
    const churn = { transferRate: 0.3, pauseRate: 0.2, faultIntervalMs: 50, clients: 5, nodes: 3 };
    const failure = await firstFailure(1, 30, churn);
    expect(failure, describeFailure(failure)).toBeUndefined();
  }, 240_000);
});
