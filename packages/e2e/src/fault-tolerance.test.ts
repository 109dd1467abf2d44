import { create } from "@bufbuild/protobuf";
import { TypeSchema } from "@raftstore/proto";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type RaftstoreCluster, startRaftstoreCluster } from "./raftstore-cluster.js";
import {
  createFaultRun,
  type FaultRun,
  linearizabilityVerdict,
  longestElectionMs,
} from "./test-support/fault-run.js";
import { type FinalValue, lostWrites, readFinalState } from "./test-support/final-state.js";
import { RegisterWorkload } from "./test-support/register-workload.js";
import { checkWatchSessions } from "./test-support/watch-check.js";
import { WatchObserver } from "./test-support/watch-observer.js";
import { type Probe, sleep, waitFor } from "./wait.js";

// Three node processes under a concurrent load of blanket writes, version-based CAS and strong
// reads through every node, while the leader is killed (SIGKILL), the next leader is paused
// (SIGSTOP) past the election timeout and resumed, and a follower is killed and restarted after
// the others compacted their logs, so that it must catch up by snapshot; the other two are
// paused while it comes back, which lets a watch open on its old state first (the snapshot
// must end that watch with Aborted, and the watch re-lists). Short ticks keep it fast; the
// election bound with default timeouts is in leader-failover.test.ts.

const settings = {
  tickMs: 25,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotThreshold: 50,
  // Snapshots as often as the threshold says, not every 30 s: the test needs compaction soon.
  snapshotIntervalMs: 0,
  trailingEntries: 10,
};
const maxElectionMs = longestElectionMs(settings);
const type = create(TypeSchema, { group: "e2e", groupVersion: "v1", kind: "Register" });
const keys = ["k0", "k1", "k2", "k3", "k4"];

describe("a three-process cluster under kills, pauses and restarts", () => {
  let run: FaultRun;
  let cluster: RaftstoreCluster;
  let workload: RegisterWorkload;
  const watchers: WatchObserver[] = [];
  let finalState: Map<string, FinalValue>;

  const failureReport = () => onTestFailed(({ task }) => run.fail(task.name));

  /** Waits until `count` writes sent after `since` have been acknowledged. */
  const acknowledgedSince = (since: number, count: number, what: string) =>
    waitFor(
      `${count} writes acknowledged ${what}`,
      async (): Promise<Probe<void>> => {
        const n = workload.acknowledged().filter((w) => w.invokedAt >= since).length;
        return n >= count ? { done: true, value: undefined } : { done: false, seen: `${n}` };
      },
      { timeoutMs: 30_000 },
    );

  /** Waits until the leader has compacted its log past everything `follower` holds. */
  const compactedPast = (follower: string, match: bigint) =>
    waitFor(
      `the leader to compact its log past ${follower}'s index ${match}`,
      async (): Promise<Probe<void>> => {
        const leader = await cluster.leader({ timeoutMs: 5_000 });
        const status = await cluster.status(leader);
        // Compaction keeps `trailingEntries` and, for a follower replicating normally, what it
        // still needs unless it is a whole snapshot interval behind: wait beyond both.
        const past = match + BigInt(settings.snapshotThreshold + settings.trailingEntries) + 1n;
        return status.snapshotIndex > past
          ? { done: true, value: undefined }
          : {
              done: false,
              seen: `${leader}'s snapshot at ${status.snapshotIndex}, need > ${past}`,
            };
      },
      { timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    run = createFaultRun("faults");
    try {
      cluster = await startRaftstoreCluster({ dir: run.dir, settings });
      workload = new RegisterWorkload({
        cluster,
        type,
        keys,
        clients: 6,
        seed: run.seed,
        timeoutMs: 8 * maxElectionMs,
        backoffMs: maxElectionMs,
      });
      await cluster.leader();
      await workload.populate();
      const leader = await cluster.leader();
      const follower = cluster.members.find((m) => m.id !== leader && m.state === "running");
      if (follower === undefined) throw new Error("expected a follower");
      const watcher = new WatchObserver(follower.id, follower.url, type);
      watchers.push(watcher);
      watcher.start();
      await watcher.listed();
      workload.start();
      await sleep(500);
    } catch (error) {
      run.fail("starting the cluster and its load");
      throw error;
    }
  }, 120_000);

  afterAll(async () => {
    await workload?.stop();
    workload?.close();
    await Promise.all(watchers.map((w) => w.stop()));
    await cluster?.close({ keepDir: true });
    run.cleanUp();
  }, 60_000);

  it("elects a new leader that serves writes after the leader is killed with SIGKILL", async () => {
    failureReport();
    const leader = await cluster.leader();
    const killedAt = performance.now();
    await cluster.kill(leader);
    await cluster.leader({ exclude: [leader] });
    await acknowledgedSince(killedAt, 20, "after the kill");
    await cluster.restart(leader);
    await cluster.waitForCaughtUp();
  }, 120_000);

  it("keeps serving while the leader is paused past the election timeout, and the old leader rejoins as a follower", async () => {
    failureReport();
    const leader = await cluster.leader();
    const pausedAt = performance.now();
    cluster.pause(leader);
    try {
      await cluster.leader({ exclude: [leader] });
      await acknowledgedSince(pausedAt, 20, "while the old leader is paused");
      // Paused for at least four election timeouts in all: its term is long over when it wakes.
      await sleep(Math.max(0, pausedAt + 4 * maxElectionMs - performance.now()));
    } finally {
      cluster.resume(leader);
    }
    await waitFor(`${leader} to follow again after it was resumed`, async () => {
      const status = await cluster.status(leader);
      return status.state === "follower" && status.leader !== "" && status.leader !== leader
        ? { done: true, value: undefined }
        : { done: false, seen: `${status.state}, leader "${status.leader}"` };
    });
    await acknowledgedSince(performance.now(), 20, "after the old leader came back");
    await cluster.waitForCaughtUp();
  }, 120_000);

  it("catches a restarted follower up by snapshot after the others compacted their logs", async () => {
    failureReport();
    const leader = await cluster.leader();
    const follower = cluster.members.find((m) => m.id !== leader && m.id !== watchers[0]?.node);
    if (follower === undefined) throw new Error("expected a follower without a watch");
    const others = cluster.members.filter((m) => m.id !== follower.id).map((m) => m.id);
    const match = (await cluster.status(leader)).peers.find((p) => p.id === follower.id);
    await cluster.kill(follower.id);
    await compactedPast(follower.id, match?.matchIndex ?? 0n);
    // Restart it while the other two are paused, so that a watch can be opened on its old state
    // before any leader sends it a snapshot. No quorum is up meanwhile: the load holds off.
    workload.hold();
    for (const id of others) cluster.pause(id);
    try {
      await cluster.restart(follower.id);
      const watcher = new WatchObserver(follower.id, follower.url, type);
      watchers.push(watcher);
      watcher.start();
      await watcher.listed();
      // Paused past the election timeout: the two wake up to an election, or to a follower
      // that moved on without them.
      await sleep(2 * maxElectionMs);
    } finally {
      for (const id of others) cluster.resume(id);
      workload.release();
    }
    const installed = await follower.waitForEvent(
      (e) => e.type === "snapshotInstalled",
      "a snapshot installed from the leader",
    );
    expect(installed.type).toBe("snapshotInstalled");
    await acknowledgedSince(performance.now(), 20, "after the restart");
    await cluster.waitForCaughtUp();
  }, 120_000);

  it("ends that follower's watch with Aborted when the snapshot replaced its state, and the watch re-lists", async () => {
    failureReport();
    const watcher = watchers[1];
    if (watcher === undefined) throw new Error("the previous step opens the watch");
    await waitFor(`the watch through ${watcher.node} to end with Aborted`, async () =>
      watcher.sessions.some((s) => s.end?.how === "aborted")
        ? { done: true, value: undefined }
        : { done: false, seen: watcher.sessions.map((s) => s.end?.how ?? "open").join(", ") },
    );
    const relisted = await watcher.listed();
    expect(relisted.snapshot.size).toBe(keys.length);
  }, 60_000);

  it("loses no acknowledged write, and every node ends with the same values", async () => {
    failureReport();
    await workload.stop();
    await cluster.waitForCaughtUp();
    const final = await readFinalState(workload, cluster, keys);
    finalState = final.state;
    expect(final.disagreements).toEqual([]);
    expect(lostWrites(workload.acknowledged(), finalState, workload.writes)).toEqual([]);
    for (const member of cluster.members) {
      for (const key of keys) {
        const local = await workload.eventualRead(member.id, key);
        expect({ member: member.id, key, ...local }).toEqual({
          member: member.id,
          key,
          ...finalState.get(key),
        });
      }
    }
  }, 120_000);

  it("gives clients a linearizable history", () => {
    failureReport();
    const history = workload.recorder.history();
    run.saveHistory(history);
    const acknowledgedCas = history.filter((op) => op.input.op === "cas" && op.output?.ok);
    expect(acknowledgedCas.length).toBeGreaterThan(0);
    expect(history.filter((op) => op.output === undefined).length).toBeLessThan(history.length / 4);
    // Both verdicts at once: an unexpected error often explains a violation.
    expect({ unexpected: workload.unexpected, verdict: linearizabilityVerdict(history) }).toEqual({
      unexpected: [],
      verdict: "linearizable",
    });
  }, 120_000);

  it("shows every change exactly once, in order, to watches through followers", async () => {
    failureReport();
    const expected = new Map([...finalState].map(([key, v]) => [key, v.version]));
    for (const watcher of watchers) {
      await watcher.waitForState(expected);
      await watcher.stop();
      expect(checkWatchSessions(watcher.sessions, workload.writes)).toEqual([]);
    }
    const changes = watchers[0]?.sessions.reduce((n, s) => n + s.changes.length, 0) ?? 0;
    expect(changes).toBeGreaterThan(100);
  }, 60_000);
});
