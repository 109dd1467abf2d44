import { describe, expect, it } from "vitest";
import { describeFailure, firstFailure } from "../test-support/simulation.js";
import { runFigure8 } from "./figure8.js";

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

  it("committing an old term's entry by counting its replicas lets a later leader overwrite it (Figure 8, scripted)", async () => {
    // Random faults did not find this interleaving in 600 seeds; figure8.ts forces it.
    const unsafe = await runFigure8({ commitOldTermByCounting: true });
    expect(unsafe.committedByCounting).toBe(true);
    expect(unsafe.violation?.invariant, unsafe.trace.join("\n")).toMatch(
      /leader completeness|committed entries never change/,
    );
    const safe = await runFigure8();
    expect(safe.committedByCounting).toBe(false);
    expect(safe.ok, safe.trace.join("\n")).toBe(true);
  });
});
