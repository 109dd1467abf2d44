import type { UnsafeSwitches } from "../core/core-config.js";
import { InvalidOptionsError } from "../errors.js";
import type { NodeId } from "../log-types.js";
import { type Logger, silentLogger } from "../logger.js";
import { restoreChunkOverhead } from "../restore-entry.js";
import type { FSM, LogStore, SnapshotStore, StableStore } from "../stores.js";
import type { Transport } from "../transport.js";
import { type Clock, systemClock, systemRandom } from "./clock.js";

/** How to build a node. Only the identity, the members and the five pluggable parts are required. */
export interface RaftNodeOptions {
  /** This node's id. Never reuse an id for a node that lost its data. */
  readonly id: NodeId;
  /**
   * The initial voters, this node included. A node that starts with an empty log and no
   * snapshot writes them as the first log entry (static bootstrap); every member must be given
   * the same set. Once the log has a configuration, the log wins.
   */
  readonly voters: readonly NodeId[];
  readonly logStore: LogStore;
  readonly stableStore: StableStore;
  readonly snapshotStore: SnapshotStore;
  readonly transport: Transport;
  readonly fsm: FSM;

  /** Milliseconds per tick, the unit of the timeouts below. Default 100. */
  readonly tickIntervalMs?: number;
  /** Ticks without a leader before a follower campaigns (randomized up to twice). Default 10. */
  readonly electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  readonly heartbeatTicks?: number;
  /** Ask "would you vote for me?" before raising the term. Default true. */
  readonly preVote?: boolean;
  /** A leader steps down when a quorum is silent for an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /**
   * Ticks a log or stable store write may stay unfinished before the disk counts as stalled:
   * observers get `diskStall`, and a leader hands leadership to a follower (or, if that does
   * not work within as long again, steps down). Default: electionTicks.
   */
  readonly diskStallTicks?: number;
  /**
   * A follower takes `apply` calls and forwards them to its leader in its Raft stream (etcd's
   * MsgProp), resolving each once the entry is applied here, instead of refusing them with
   * NotLeaderError. A forwarded call not applied within ten election timeouts fails with
   * TimeoutError (outcome unknown). Default false.
   */
  readonly forwardProposals?: boolean;
  /** The largest proposal in bytes. Default 1 MiB. */
  readonly maxEntrySize?: number;
  /** Append messages in flight per follower. Default 256. */
  readonly maxInflightMessages?: number;
  /** Entry bytes in flight per follower. Default 32 MiB. */
  readonly maxInflightBytes?: number;
  /** Entry bytes per append message. Default 1 MiB. */
  readonly maxBytesPerAppend?: number;
  /** Proposed but uncommitted bytes before proposals are refused. Default 64 MiB. */
  readonly maxUncommittedBytes?: number;
  /** Take a snapshot once this many entries were applied since the last one. Default 8192. */
  readonly snapshotThreshold?: number;
  /** …or once this many bytes of entries were applied since the last one. Default 64 MiB. */
  readonly snapshotThresholdBytes?: number;
  /**
   * Staggers the snapshots of a cluster's members: each node lowers `snapshotThreshold` and
   * `snapshotIntervalMs` by a random fraction of them up to this one, drawn again after each
   * snapshot it takes, so that the members, which apply the same entries, do not all snapshot
   * at once (hashicorp/raft staggers its snapshot checks for the same reason). The log never
   * grows past the threshold. From 0 (every node snapshots at exactly the threshold) to below 1.
   * Default 0.
   */
  readonly snapshotJitter?: number;
  /**
   * The least time between two snapshots that `snapshotThreshold` triggers, in ms: a node whose
   * store takes seconds to encode would otherwise snapshot again as soon as it finished, under a
   * steady stream of writes (hashicorp/raft checks its threshold only every SnapshotInterval for
   * the same reason). `snapshotThresholdBytes` still bounds the log meanwhile. Default 0.
   */
  readonly snapshotIntervalMs?: number;
  /** Entries kept in the log behind a snapshot, for followers slightly behind. Default 4096. */
  readonly trailingEntries?: number;
  /**
   * …and at most this many bytes of them (their data): the log's entries are held in memory, and
   * a count alone would let a trail of large entries (1 MiB each, say) take gigabytes. Default
   * 64 MiB.
   */
  readonly trailingBytes?: number;
  /** Bytes per snapshot chunk on the wire. Default 1 MiB. */
  readonly snapshotChunkSize?: number;
  /** Snapshot chunks in flight per transfer. Default 4. */
  readonly snapshotWindow?: number;
  /** Bytes of committed entries applied per batch before yielding the event loop. Default 4 MiB. */
  readonly maxApplyBatchBytes?: number;
  /**
   * Bytes of snapshot contents per log entry when a snapshot is restored onto the cluster
   * (`restore`). Default 256 KiB, or less to fit `maxEntrySize`.
   */
  readonly restoreChunkSize?: number;
  readonly logger?: Logger;
  /** Time source and timers (a simulation passes virtual time). Default: the system's. */
  readonly clock?: Clock;
  /** Uniform random numbers in [0, 1). Default: the system's generator. */
  readonly random?: () => number;
  /** Test-only: disables one safety rule (see UnsafeSwitches). Never set in production. */
  readonly unsafe?: UnsafeSwitches;
}

/** Options with every default filled in and checked. */
export type ResolvedOptions = Required<Omit<RaftNodeOptions, "unsafe">> & {
  readonly unsafe: UnsafeSwitches | undefined;
};

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionsError(`expected ${name} to be a positive integer, found ${value}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionsError(`expected ${name} to be an integer of 0 or more, found ${value}`);
  }
  return value;
}

function fraction(name: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new InvalidOptionsError(
      `expected ${name} to be a number from 0 to below 1, found ${value}`,
    );
  }
  return value;
}

/** Fills in defaults and checks every option, throwing InvalidOptionsError on the first bad one. */
export function resolveOptions(options: RaftNodeOptions): ResolvedOptions {
  if (typeof options.id !== "string" || options.id.length === 0) {
    throw new InvalidOptionsError(
      `expected a non-empty string id, found ${JSON.stringify(options.id)}`,
    );
  }
  for (const part of ["logStore", "stableStore", "snapshotStore", "transport", "fsm"] as const) {
    if (typeof options[part] !== "object" || options[part] === null) {
      throw new InvalidOptionsError(`expected the ${part} option, found ${String(options[part])}`);
    }
  }
  const voters = options.voters ?? [];
  if (!Array.isArray(voters) || voters.some((v) => typeof v !== "string" || v.length === 0)) {
    throw new InvalidOptionsError("expected voters to be an array of non-empty node ids");
  }
  if (new Set(voters).size !== voters.length) {
    throw new InvalidOptionsError(`expected distinct voters, found ${voters.join(", ")}`);
  }
  const resolved: ResolvedOptions = {
    id: options.id,
    voters,
    logStore: options.logStore,
    stableStore: options.stableStore,
    snapshotStore: options.snapshotStore,
    transport: options.transport,
    fsm: options.fsm,
    tickIntervalMs: positiveInteger("tickIntervalMs", options.tickIntervalMs ?? 100),
    electionTicks: positiveInteger("electionTicks", options.electionTicks ?? 10),
    heartbeatTicks: positiveInteger("heartbeatTicks", options.heartbeatTicks ?? 1),
    diskStallTicks: positiveInteger(
      "diskStallTicks",
      options.diskStallTicks ?? options.electionTicks ?? 10,
    ),
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    forwardProposals: options.forwardProposals ?? false,
    maxEntrySize: positiveInteger("maxEntrySize", options.maxEntrySize ?? 1 << 20),
    maxInflightMessages: positiveInteger("maxInflightMessages", options.maxInflightMessages ?? 256),
    maxInflightBytes: positiveInteger("maxInflightBytes", options.maxInflightBytes ?? 32 << 20),
    maxBytesPerAppend: positiveInteger("maxBytesPerAppend", options.maxBytesPerAppend ?? 1 << 20),
    maxUncommittedBytes: positiveInteger(
      "maxUncommittedBytes",
      options.maxUncommittedBytes ?? 64 << 20,
    ),
    snapshotThreshold: positiveInteger("snapshotThreshold", options.snapshotThreshold ?? 8192),
    snapshotThresholdBytes: positiveInteger(
      "snapshotThresholdBytes",
      options.snapshotThresholdBytes ?? 64 << 20,
    ),
    snapshotJitter: fraction("snapshotJitter", options.snapshotJitter ?? 0),
    snapshotIntervalMs: nonNegativeInteger("snapshotIntervalMs", options.snapshotIntervalMs ?? 0),
    trailingEntries: nonNegativeInteger("trailingEntries", options.trailingEntries ?? 4096),
    trailingBytes: nonNegativeInteger("trailingBytes", options.trailingBytes ?? 64 << 20),
    snapshotChunkSize: positiveInteger("snapshotChunkSize", options.snapshotChunkSize ?? 1 << 20),
    snapshotWindow: positiveInteger("snapshotWindow", options.snapshotWindow ?? 4),
    maxApplyBatchBytes: positiveInteger(
      "maxApplyBatchBytes",
      options.maxApplyBatchBytes ?? 4 << 20,
    ),
    restoreChunkSize: positiveInteger(
      "restoreChunkSize",
      options.restoreChunkSize ??
        Math.max(1, Math.min(256 << 10, (options.maxEntrySize ?? 1 << 20) - restoreChunkOverhead)),
    ),
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    unsafe: options.unsafe,
  };
  if (resolved.restoreChunkSize + restoreChunkOverhead > resolved.maxEntrySize) {
    throw new InvalidOptionsError(
      `expected restoreChunkSize (${resolved.restoreChunkSize}) plus ${restoreChunkOverhead} bytes of framing to fit maxEntrySize (${resolved.maxEntrySize})`,
    );
  }
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new InvalidOptionsError(
      `expected heartbeatTicks (${resolved.heartbeatTicks}) to be less than electionTicks (${resolved.electionTicks})`,
    );
  }
  return resolved;
}
