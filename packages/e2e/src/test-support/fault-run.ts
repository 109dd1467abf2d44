import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkLinearizability,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "@raftstore/linearizability";

/**
 * One fault-test run: its seed (RAFTSTORE_E2E_SEED replays a run's choices), its directory
 * (data directories, node logs, the history), and what a failing run must print so it can be
 * investigated: the seed and where the history and logs are. A run that passes removes its
 * directory; a failing one keeps it.
 */
export interface FaultRun {
  readonly seed: number;
  readonly dir: string;
  readonly historyFile: string;
  readonly failed: boolean;
  /** Marks the run failed and prints, once, how to investigate it. */
  fail(test: string): void;
  /** Writes the history (return Infinity as null) to `historyFile`. */
  saveHistory(history: readonly Operation<KvInput, KvOutput>[]): void;
  /** Removes the directory unless the run failed. */
  cleanUp(): void;
}

export function createFaultRun(name: string): FaultRun {
  const fromEnv = process.env.RAFTSTORE_E2E_SEED;
  const seed = fromEnv === undefined || fromEnv === "" ? randomInt(2 ** 31) : Number(fromEnv);
  if (!Number.isInteger(seed)) {
    throw new Error(`expected RAFTSTORE_E2E_SEED to be an integer, got "${fromEnv}"`);
  }
  const dir = mkdtempSync(join(tmpdir(), `raftstore-e2e-${name}-`));
  const historyFile = join(dir, "history.json");
  let failed = false;
  let history: readonly Operation<KvInput, KvOutput>[] = [];
  const save = () =>
    writeFileSync(
      historyFile,
      JSON.stringify(
        { seed, operations: history },
        (_, value) => (value === Number.POSITIVE_INFINITY ? null : value),
        1,
      ),
    );
  return {
    seed,
    dir,
    historyFile,
    get failed() {
      return failed;
    },
    fail(test) {
      if (!failed) {
        process.stderr.write(
          `\n[e2e ${name}] "${test}" failed. seed=${seed} (rerun with RAFTSTORE_E2E_SEED=${seed})\n` +
            `[e2e ${name}] history: ${historyFile}\n[e2e ${name}] node logs and data: ${dir}\n`,
        );
      }
      failed = true;
      save();
    },
    saveHistory(operations) {
      history = operations;
      save();
    },
    cleanUp() {
      if (!failed) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The verdict on a key-value history with kvModel: "linearizable", or the checker's
 * explanation of why not. The search running out of budget is a failure too ("undecided: …"),
 * never a pass: the test must keep its history small enough to be decided.
 */
export function linearizabilityVerdict(history: readonly Operation<KvInput, KvOutput>[]): string {
  const result = checkLinearizability(kvModel, [...history], { maxSteps: 20_000_000 });
  switch (result.outcome) {
    case "linearizable":
      return "linearizable";
    case "illegal":
      return result.explanation;
    default:
      return `undecided: ${result.reason}`;
  }
}

/**
 * The longest a follower waits for a leader before it campaigns, with `settings` (a node's
 * election timeout is drawn between electionTicks and 2 × electionTicks ticks).
 */
export function longestElectionMs(settings: { tickMs: number; electionTicks: number }): number {
  return settings.tickMs * settings.electionTicks * 2;
}
