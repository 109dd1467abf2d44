import { create } from "@bufbuild/protobuf";
import { TypeSchema } from "@raftstore/proto";
import { defaultRaftSettings } from "@raftstore/server";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { linearizabilityVerdict, longestElectionMs } from "./test-support/fault-run.js";
import { readFinalState } from "./test-support/final-state.js";
import {
  type LoadedCluster,
  startLoadedCluster,
  stopLoadedCluster,
} from "./test-support/loaded-cluster.js";
import { sleep } from "./wait.js";

// Blanket deletes (no version) among blanket writes, compare-and-swaps and strong reads of a few
// keys, through every node of a three-process cluster, across a SIGKILL of the leader and its
// restart. A blanket delete deletes whatever version of the incarnation it finds is stored when
// it is applied (a log entry of its own), so it never loses to the writers: any answer but
// success or "no leader" is a bug. The clients' history must be linearizable, deletes included.

const maxElectionMs = longestElectionMs(defaultRaftSettings);
const type = create(TypeSchema, { group: "e2e", groupVersion: "v1", kind: "Deletes" });
const keys = ["d0", "d1"];

describe("blanket deletes on a three-process cluster under load", () => {
  let loaded: LoadedCluster | undefined;

  beforeAll(async () => {
    loaded = await startLoadedCluster("deletes", {
      type,
      keys,
      clients: 12,
      timeoutMs: 3 * maxElectionMs,
      backoffMs: maxElectionMs / 4,
      mix: { put: 0.45, cas: 0.1, delete: 0.25 },
    });
  }, 120_000);

  afterAll(() => stopLoadedCluster(loaded), 60_000);

  it("deletes through every node across a SIGKILL of the leader, and the history is linearizable", async () => {
    if (loaded === undefined) throw new Error("the cluster did not start");
    const { run, cluster, workload } = loaded;
    onTestFailed(({ task }) => run.fail(task.name));
    await sleep(1500);
    const leader = await cluster.leader();
    await cluster.kill(leader);
    await sleep(1500);
    await cluster.restart(leader);
    await sleep(1500);
    await workload.stop();
    await cluster.waitForCaughtUp();
    const final = await readFinalState(workload, cluster, keys);
    expect(final.disagreements).toEqual([]);
    const history = workload.recorder.history();
    run.saveHistory(history);
    const deleted = history.filter((op) => op.input.op === "delete" && op.output?.ok === true);
    const recreated = history.filter((op) => op.input.op === "put" && op.output?.ok === true);
    expect(deleted.length).toBeGreaterThan(20);
    expect(recreated.length).toBeGreaterThan(20);
    // Both verdicts at once: an unexpected error often explains a violation.
    expect({ unexpected: workload.unexpected, verdict: linearizabilityVerdict(history) }).toEqual({
      unexpected: [],
      verdict: "linearizable",
    });
  }, 120_000);
});
