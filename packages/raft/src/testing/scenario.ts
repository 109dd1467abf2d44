import type { UnsafeSwitches } from "../core/core-config.js";
import { Prng } from "./prng.js";

/**
 * Everything one simulation run does, derived from its seed: cluster size, fault mix, timing
 * and engine limits. The same seed always gives the same scenario, so a seed alone replays a
 * run; a few fields may be overridden from the command line (then the replay command says so).
 */
export interface Scenario {
  readonly seed: number;
  readonly nodes: number;
  /** Virtual milliseconds of faults, then of healed liveness checking. */
  readonly chaosMs: number;
  readonly livenessMs: number;
  readonly faultIntervalMs: number;
  // Network.
  readonly loss: number;
  readonly duplicate: number;
  readonly longDelay: number;
  readonly corrupt: number;
  readonly maxLatencyMs: number;
  // What the fault injector may do at each interval, with these probabilities.
  readonly partitionRate: number;
  readonly crashRate: number;
  readonly pauseRate: number;
  readonly slowApplyRate: number;
  readonly snapshotRate: number;
  readonly transferRate: number;
  readonly diskStall: number;
  readonly clockDrift: number;
  // Engine limits, small so that snapshots, flow control and backpressure happen often.
  readonly snapshotThreshold: number;
  readonly trailingEntries: number;
  readonly snapshotChunkSize: number;
  readonly snapshotWindow: number;
  readonly maxUncommittedBytes: number;
  readonly maxInflightMessages: number;
  readonly maxBytesPerAppend: number;
  // Workload.
  readonly clients: number;
  readonly clientTimeoutMs: number;
  readonly unsafe: UnsafeSwitches | undefined;
  // Drawn after everything above, so adding them left the earlier fields of every seed as
  // they were.
  /** Probability, per fault interval, that a client restores a snapshot through the leader. */
  readonly restoreRate: number;
  /** Bytes of snapshot contents per log entry of a restore. */
  readonly restoreChunkSize: number;
  /** Probability, per fault interval, that the leader's disk stalls for 0.8 to 2.5 seconds. */
  readonly leaderDiskStallRate: number;
  /** The engine's diskStallTicks (a leader whose write is stuck this long hands over). */
  readonly diskStallTicks: number;
  /**
   * Share of client writes sent to a random node instead of the leader. Nonzero turns on the
   * engine's forwarding of followers' proposals (`forwardProposals`); zero leaves it off, so
   * followers refuse them.
   */
  readonly forwardedWrites: number;
  /** Bytes of entries kept behind a snapshot (with `trailingEntries`, whichever is less). */
  readonly trailingBytes: number;
  /** Bytes of entries applied since the last snapshot that trigger a new one. */
  readonly snapshotThresholdBytes: number;
}

export type ScenarioOverrides = Partial<Omit<Scenario, "seed">>;

/** The scenario of `seed`. */
export function scenarioFor(seed: number, overrides: ScenarioOverrides = {}): Scenario {
  const rng = new Prng(seed ^ 0x5eed);
  const pick = <T>(items: readonly T[]) => rng.pick(items);
  const base: Scenario = {
    seed,
    nodes: pick([3, 3, 5]),
    chaosMs: 3000,
    livenessMs: 3000,
    faultIntervalMs: pick([50, 100, 200]),
    loss: pick([0, 0.01, 0.05, 0.15]),
    duplicate: pick([0, 0.02, 0.1]),
    longDelay: pick([0, 0.01, 0.05]),
    corrupt: pick([0, 0, 0.005]),
    maxLatencyMs: pick([2, 5, 15]),
    partitionRate: pick([0, 0.1, 0.3]),
    crashRate: pick([0, 0.05, 0.15]),
    pauseRate: pick([0, 0.05, 0.1]),
    slowApplyRate: pick([0, 0.05]),
    snapshotRate: pick([0, 0.05, 0.2]),
    transferRate: pick([0, 0.03]),
    diskStall: pick([0, 0.01, 0.05]),
    clockDrift: pick([0, 0.02, 0.1]),
    snapshotThreshold: pick([16, 50, 200]),
    trailingEntries: pick([0, 4, 32]),
    snapshotChunkSize: pick([61, 256, 4096]),
    snapshotWindow: pick([1, 2, 4]),
    maxUncommittedBytes: pick([2000, 20000, 1 << 20]),
    maxInflightMessages: pick([1, 4, 64]),
    maxBytesPerAppend: pick([100, 1000, 1 << 16]),
    clients: pick([3, 5]),
    clientTimeoutMs: pick([300, 1000]),
    unsafe: undefined,
    restoreRate: pick([0, 0.02, 0.05]),
    restoreChunkSize: pick([61, 256, 4096]),
    leaderDiskStallRate: pick([0, 0, 0.02]),
    diskStallTicks: 10,
    forwardedWrites: pick([0, 0.5, 0.9]),
    trailingBytes: pick([100, 1000, 1 << 20]),
    snapshotThresholdBytes: pick([600, 6000, 64 << 20]),
  };
  return { ...base, ...overrides, seed };
}
