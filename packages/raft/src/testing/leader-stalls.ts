import type { KvInput, KvOutput, Operation } from "@raftstore/linearizability";
import type { NodeId } from "../log-types.js";
import type { RaftNode } from "../runtime/node.js";
import { encodeCommand } from "./kv-fsm.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import type { SimStorage } from "./sim-storage.js";

/** A leader whose disk stopped completing writes for `forMs`, and what the cluster did. */
export interface LeaderDiskStall {
  readonly node: NodeId;
  readonly atMs: number;
  /** How long the stall lasted (it ends early when the simulation heals). */
  forMs: number;
  /** How long after the stall began another node became leader (undefined: none did). */
  failoverMs: number | undefined;
  /**
   * How long after the stall began a write proposed to that new leader was acknowledged
   * (undefined: none was before the stall ended).
   */
  newLeaderWriteMs: number | undefined;
  /** Writes acknowledged to clients after the failover and before the stall ended. */
  writesServed: number;
}

/**
 * Stalls of leaders' disks (hashicorp/raft#503) and what followed each: when another node
 * became leader, and whether it took a write (a probe the simulation proposes to it) before
 * the stall ended. One stall at a time.
 */
export class LeaderStalls {
  /** Decides when stalls happen and how long they last (a stream of its own). */
  readonly rng: Prng;
  private readonly stalls: LeaderDiskStall[] = [];
  private readonly scheduler: Scheduler;

  constructor(rng: Prng, scheduler: Scheduler) {
    this.rng = rng;
    this.scheduler = scheduler;
  }

  /** Stalls the disk of `leader` for 0.8 to 2.5 s, unless a stall is under way. */
  stall(leader: NodeId, storage: SimStorage): LeaderDiskStall | undefined {
    const now = this.scheduler.now;
    if (this.stalls.some((s) => s.atMs + s.forMs > now)) return undefined;
    const forMs = this.rng.range(800, 2500);
    storage.stall(now + forMs);
    const stall: LeaderDiskStall = {
      node: leader,
      atMs: now,
      forMs,
      failoverMs: undefined,
      newLeaderWriteMs: undefined,
      writesServed: 0,
    };
    this.stalls.push(stall);
    return stall;
  }

  /** `id` became leader: a failover, for a stall of another node's disk that had none yet. */
  newLeader(id: NodeId, node: RaftNode): void {
    for (const stall of this.stalls) {
      if (stall.node === id || stall.failoverMs !== undefined) continue;
      stall.failoverMs = this.scheduler.now - stall.atMs;
      const probe = encodeCommand({ op: "put", key: `stall-probe-${stall.atMs}`, value: "ok" });
      node.apply(probe).then(
        () => {
          const atMs = this.scheduler.now - stall.atMs;
          if (atMs < stall.forMs) stall.newLeaderWriteMs = atMs;
        },
        () => undefined,
      );
    }
  }

  /** The simulation heals: stalls under way end now. */
  heal(): void {
    for (const stall of this.stalls) {
      stall.forMs = Math.min(stall.forMs, this.scheduler.now - stall.atMs);
    }
  }

  /** The stalls, with the clients' writes acknowledged after each failover and before its end. */
  report(history: readonly Operation<KvInput, KvOutput>[]): LeaderDiskStall[] {
    return this.stalls.map((stall) => ({
      ...stall,
      writesServed: history.filter(
        (op) =>
          op.input.op !== "get" &&
          op.output?.ok === true &&
          op.return > stall.atMs + (stall.failoverMs ?? 0) &&
          op.return < stall.atMs + stall.forMs &&
          op.clientId < 1000,
      ).length,
    }));
  }
}
