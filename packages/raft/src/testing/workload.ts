import {
  HistoryRecorder,
  type KvInput,
  type KvOutput,
  type Operation,
} from "@raftstore/linearizability";
import {
  isLeadershipLostError,
  isNotCommittedError,
  isNotLeaderError,
  isProposalDroppedError,
  isProposalTooLargeError,
  isRestoreInProgressError,
  isRestoreRejectedError,
} from "../errors.js";
import type { NodeId } from "../log-types.js";
import type { RaftNode } from "../runtime/node.js";
import { InvariantViolation } from "./invariants.js";
import { encodeCommand, type KvResult, type KvStateMachine } from "./kv-fsm.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";

/** What the clients need from the simulation. */
export interface ClientHost {
  readonly scheduler: Scheduler;
  /** Ids of nodes whose process is alive. */
  liveNodes(): NodeId[];
  node(id: NodeId): RaftNode;
  fsm(id: NodeId): KvStateMachine;
}

export interface WorkloadOptions {
  readonly clients: number;
  /** Keys in use at a time (they rotate, see keyEraMs). */
  readonly keysPerEra: number;
  /** Client-side timeout in virtual ms: a call that has not returned by then is indeterminate. */
  readonly timeoutMs: number;
  readonly maxThinkMs: number;
  /** Share of writes sent to a random node (which forwards them) instead of the leader. */
  readonly forwardedWrites: number;
}

/** Counts of what the clients saw. */
export interface WorkloadStats {
  ok: number;
  failed: number;
  indeterminate: number;
  readIndexReads: number;
  logReads: number;
  writes: number;
  /** Writes sent to a node other than the one the client believed led. */
  forwardedWrites: number;
  /** Calls that failed with NotCommittedError (recorded as certainly without effect). */
  notCommitted: number;
  /** Snapshots restored onto the cluster: asked for, done, refused by the state machine. */
  restores: number;
  restoresDone: number;
  restoresRejected: number;
}

/** A restore a client asked for, kept aside: it becomes one write per key in the history. */
interface RecordedRestore {
  readonly clientId: number;
  /** The restored state, or undefined for contents that are not a snapshot at all. */
  readonly data: ReadonlyMap<string, string> | undefined;
  readonly call: number;
  outcome: { kind: "ok"; at: number } | { kind: "failed" } | { kind: "unknown" } | undefined;
}

/** How long a key is in use before the clients move on to a fresh one. */
const keyEraMs = 600;

type Outcome = { kind: "ok"; output: KvOutput } | { kind: "failed" } | { kind: "unknown" };

/**
 * Clients of the simulated cluster, in the style of Maelstrom's lin-kv workload: each runs one
 * operation at a time (put, get, compare-and-swap on a few keys) against the node it believes
 * leads, or for ReadIndex reads against any node, and records what it saw for the
 * linearizability checker. A call that times out, loses its node, or ends with an unknown
 * outcome is recorded as indeterminate; a call that certainly did nothing is recorded as such.
 */
export class Workload {
  readonly recorder: HistoryRecorder<KvInput, KvOutput>;
  readonly stats: WorkloadStats = {
    ok: 0,
    failed: 0,
    indeterminate: 0,
    readIndexReads: 0,
    logReads: 0,
    writes: 0,
    forwardedWrites: 0,
    notCommitted: 0,
    restores: 0,
    restoresDone: 0,
    restoresRejected: 0,
  };
  private readonly restores: RecordedRestore[] = [];
  /** Set when a restore the model cannot explain succeeded (contents that are no snapshot). */
  violation: InvariantViolation | undefined;
  private running = false;
  private active = 0;
  private leaderHint: NodeId | undefined;
  private valueSeq = 0;
  private readonly host: ClientHost;
  private readonly rng: Prng;
  private readonly options: WorkloadOptions;

  constructor(host: ClientHost, rng: Prng, options: WorkloadOptions) {
    this.host = host;
    this.rng = rng;
    this.options = options;
    this.recorder = new HistoryRecorder<KvInput, KvOutput>(() => host.scheduler.now);
  }

  start(): void {
    this.running = true;
    for (let c = 0; c < this.options.clients; c++) void this.client(c);
  }

  /** Stops issuing operations; calls in flight finish or time out on their own. */
  stop(): void {
    this.running = false;
  }

  get inFlight(): number {
    return this.active;
  }

  /**
   * The history to check. Operations that certainly did nothing (a failed put or get) and reads
   * whose result never came back constrain nothing: they are left out, which is sound (each
   * could be linearized anywhere without changing the state) and keeps the search small.
   */
  history(): Operation<KvInput, KvOutput>[] {
    const operations = this.recorder
      .history()
      .filter((op) =>
        op.input.op === "get"
          ? op.output?.ok === true
          : op.input.op === "cas" || op.output === undefined || op.output.ok,
      );
    return [...operations, ...this.restoreOperations(operations)];
  }

  /**
   * A restore sets every key at once: to its value in the snapshot, or absent. The KV model is
   * checked key by key, so a restore becomes one put or delete per key the clients use, with
   * the restore's call, return and outcome. (That forgets that the keys change together, which
   * only makes the check weaker, never wrong.) Restores that certainly did nothing are left out.
   */
  private restoreOperations(
    operations: readonly Operation<KvInput, KvOutput>[],
  ): Operation<KvInput, KvOutput>[] {
    const keys = new Set(operations.map((op) => op.input.key));
    for (const restore of this.restores) {
      for (const key of restore.data?.keys() ?? []) if (key.startsWith("k")) keys.add(key);
    }
    const out: Operation<KvInput, KvOutput>[] = [];
    for (const restore of this.restores) {
      const outcome = restore.outcome;
      if (restore.data === undefined || outcome === undefined || outcome.kind === "failed") {
        continue;
      }
      for (const key of [...keys].sort()) {
        const value = restore.data.get(key);
        const input: KvInput =
          value === undefined ? { op: "delete", key } : { op: "put", key, value };
        out.push(
          outcome.kind === "ok"
            ? {
                clientId: restore.clientId,
                input,
                output: { ok: true },
                call: restore.call,
                return: outcome.at,
              }
            : {
                clientId: restore.clientId,
                input,
                call: restore.call,
                return: Number.POSITIVE_INFINITY,
              },
        );
      }
    }
    return out;
  }

  /**
   * Restores `contents` onto the cluster through `target` (the leader, presumably), as a client
   * would: the outcome goes into the history. `data` is the state the contents hold, or
   * undefined when they are not a snapshot (every state machine must then refuse them).
   */
  restore(target: NodeId, contents: Uint8Array, data: ReadonlyMap<string, string> | undefined) {
    const clientId = 1000 + this.restores.length;
    const record: RecordedRestore = {
      clientId,
      data,
      call: this.host.scheduler.now,
      outcome: undefined,
    };
    this.restores.push(record);
    this.stats.restores++;
    this.active++;
    const pieces = async function* () {
      for (let at = 0; at < contents.byteLength; at += 300) yield contents.subarray(at, at + 300);
    };
    const call = this.host
      .node(target)
      .restore(pieces())
      .then(
        () => {
          if (data === undefined) {
            this.violation ??= new InvariantViolation(
              "restore",
              `a restore of contents that are not a snapshot succeeded on ${target}`,
            );
          }
          this.stats.restoresDone++;
          return { kind: "ok" as const, at: this.host.scheduler.now };
        },
        (error: unknown) => {
          if (isRestoreRejectedError(error)) {
            this.stats.restoresRejected++;
            if (data !== undefined) {
              this.violation ??= new InvariantViolation(
                "restore",
                `a restore of a valid snapshot was rejected: ${(error as Error).message}`,
              );
            }
            return { kind: "failed" as const };
          }
          const nothingHappened =
            isNotLeaderError(error) ||
            isRestoreInProgressError(error) ||
            isProposalDroppedError(error);
          return nothingHappened ? { kind: "failed" as const } : { kind: "unknown" as const };
        },
      );
    const timeout = new Promise<{ kind: "unknown" }>((resolve) =>
      this.host.scheduler.after(this.options.timeoutMs * 3, () => resolve({ kind: "unknown" })),
    );
    void Promise.race([call, timeout]).then((outcome) => {
      record.outcome = outcome;
      this.active--;
    });
  }

  /**
   * The key for the next operation: one of a few keys of the current era. Keys rotate every
   * `keyEraMs` so no key accumulates more than a few seconds of operations whose outcome is
   * unknown (the checker's search is exponential in those).
   */
  private pickKey(): string {
    const era = Math.floor(this.host.scheduler.now / keyEraMs);
    return `k${era + this.rng.int(0, this.options.keysPerEra)}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.host.scheduler.after(ms, resolve));
  }

  private async client(id: number): Promise<void> {
    let backoff = 0;
    while (this.running) {
      await this.sleep(backoff + this.rng.range(0, this.options.maxThinkMs));
      if (!this.running) break;
      const live = this.host.liveNodes();
      if (live.length === 0) continue;
      this.active++;
      try {
        const outcome = await this.operation(id, live);
        // Like a real client, back off after a failure, more after a timeout: an outage then
        // leaves a few operations of unknown outcome behind, not dozens.
        backoff =
          outcome === "ok"
            ? 0
            : outcome === "failed"
              ? this.rng.range(5, 30)
              : this.rng.range(50, 200);
      } finally {
        this.active--;
      }
    }
  }

  private async operation(clientId: number, live: NodeId[]): Promise<Outcome["kind"]> {
    const key = this.pickKey();
    const roll = this.rng.next();
    const value = `v${++this.valueSeq}`;
    let input: KvInput;
    let viaReadIndex = false;
    if (roll < 0.3) input = { op: "put", key, value };
    else if (roll < 0.5) {
      const fsm = this.host.fsm(this.rng.pick(live));
      input = { op: "cas", key, expected: this.rng.chance(0.8) ? fsm.get(key) : undefined, value };
    } else {
      input = { op: "get", key };
      viaReadIndex = this.rng.chance(0.6);
    }
    // No draw when forwarding is off, so that those seeds replay as they did before it existed.
    const anywhere =
      viaReadIndex ||
      (input.op !== "get" &&
        this.options.forwardedWrites > 0 &&
        this.rng.chance(this.options.forwardedWrites));
    const target =
      anywhere || this.leaderHint === undefined || !live.includes(this.leaderHint)
        ? this.rng.pick(live)
        : this.leaderHint;
    const node = this.host.node(target);
    const handle = this.recorder.invoke(clientId, input);
    let call: Promise<Outcome>;
    if (viaReadIndex) {
      this.stats.readIndexReads++;
      const fsm = this.host.fsm(target);
      call = node.readIndex().then(
        () => ({ kind: "ok", output: { ok: true, value: fsm.get(key) } }),
        (error: unknown) => this.classify(error),
      );
    } else {
      if (input.op === "get") this.stats.logReads++;
      else this.stats.writes++;
      call = node.apply(encodeCommand(input)).then(
        (result) => {
          if (node.state === "leader") this.leaderHint = target;
          return { kind: "ok", output: result as KvResult };
        },
        (error: unknown) => this.classify(error),
      );
    }
    if (input.op !== "get" && target !== this.leaderHint) this.stats.forwardedWrites++;
    const timeout = new Promise<Outcome>((resolve) =>
      this.host.scheduler.after(this.options.timeoutMs, () => resolve({ kind: "unknown" })),
    );
    const outcome = await Promise.race([call, timeout]);
    if (outcome.kind === "ok") {
      this.stats.ok++;
      handle.ok(outcome.output);
    } else if (outcome.kind === "failed" && input.op !== "cas") {
      // Certainly not applied: a put or delete changed nothing, a get observed nothing.
      this.stats.failed++;
      handle.ok({ ok: false });
    } else {
      if (outcome.kind === "failed") this.stats.failed++;
      else this.stats.indeterminate++;
      handle.unknown();
    }
    return outcome.kind;
  }

  private classify(error: unknown): Outcome {
    if (isNotLeaderError(error)) {
      this.leaderHint = error.leader;
      return { kind: "failed" };
    }
    // Certainly no effect: the checker then holds that nothing ever observes the write.
    if (isProposalDroppedError(error) || isProposalTooLargeError(error)) return { kind: "failed" };
    if (isNotCommittedError(error)) {
      this.stats.notCommitted++;
      return { kind: "failed" };
    }
    if (isLeadershipLostError(error)) return { kind: "unknown" };
    return { kind: "unknown" };
  }
}
