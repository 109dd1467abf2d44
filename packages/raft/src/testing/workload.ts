import {
  HistoryRecorder,
  type KvInput,
  type KvOutput,
  type Operation,
} from "@raftstore/linearizability";
import {
  isLeadershipLostError,
  isNotLeaderError,
  isProposalDroppedError,
  isProposalTooLargeError,
} from "../errors.js";
import type { NodeId } from "../log-types.js";
import type { RaftNode } from "../runtime/node.js";
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
}

/** Counts of what the clients saw. */
export interface WorkloadStats {
  ok: number;
  failed: number;
  indeterminate: number;
  readIndexReads: number;
  logReads: number;
  writes: number;
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
  };
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
    return this.recorder
      .history()
      .filter((op) =>
        op.input.op === "get"
          ? op.output?.ok === true
          : op.input.op === "cas" || op.output === undefined || op.output.ok,
      );
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
    const target =
      viaReadIndex || this.leaderHint === undefined || !live.includes(this.leaderHint)
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
          this.leaderHint = target;
          return { kind: "ok", output: result as KvResult };
        },
        (error: unknown) => this.classify(error),
      );
    }
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
    if (isProposalDroppedError(error) || isProposalTooLargeError(error)) return { kind: "failed" };
    if (isLeadershipLostError(error)) return { kind: "unknown" };
    return { kind: "unknown" };
  }
}
