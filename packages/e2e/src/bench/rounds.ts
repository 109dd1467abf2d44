import type { LoadResult } from "../load/run-load.js";

/** One figure measured on both clusters back to back. */
export interface Round {
  raftstore: LoadResult;
  etcd: LoadResult;
}

/** raftstore / etcd per quantity; above 1 means raftstore's is higher. */
export interface Ratios {
  throughput: number;
  p50: number;
  p99: number;
  /** Below 1 means raftstore spent less CPU per operation. */
  cpuPerOperation: number;
}

/** A figure over every round of a comparison. */
export interface FigureSummary {
  clients: number;
  /** Each round's results and ratios, in the order they were measured. */
  rounds: Array<Round & { ratio: Ratios }>;
  /**
   * The median over the rounds of each ratio. Each round's ratio compares two measurements taken
   * seconds apart, so drift in the machine's load cancels out in it; the median then drops the
   * odd round that one side lost to a burst of someone else's work.
   */
  ratio: Ratios;
  /** How many rounds met the goal (throughput at least etcd's and p99 at most etcd's). */
  roundsMeetingGoal: number;
}

/** `a / b` to two decimals. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** The median of a non-empty list; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("the median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function roundRatios({ raftstore: r, etcd: e }: Round): Ratios {
  return {
    throughput: ratio(r.throughput, e.throughput),
    p50: ratio(r.latencyMs.p50, e.latencyMs.p50),
    p99: ratio(r.latencyMs.p99, e.latencyMs.p99),
    cpuPerOperation: ratio(r.clusterCpuPerOperationUs, e.clusterCpuPerOperationUs),
  };
}

const meetsGoal = (r: Ratios) => r.throughput >= 1 && r.p99 <= 1;

/** Summarizes one figure's rounds (at least one). */
export function summarizeRounds(clients: number, rounds: readonly Round[]): FigureSummary {
  const withRatios = rounds.map((round) => ({ ...round, ratio: roundRatios(round) }));
  const medianOf = (key: keyof Ratios) =>
    Math.round(median(withRatios.map((round) => round.ratio[key])) * 100) / 100;
  return {
    clients,
    rounds: withRatios,
    ratio: {
      throughput: medianOf("throughput"),
      p50: medianOf("p50"),
      p99: medianOf("p99"),
      cpuPerOperation: medianOf("cpuPerOperation"),
    },
    roundsMeetingGoal: withRatios.filter((round) => meetsGoal(round.ratio)).length,
  };
}

/**
 * Which cluster goes first for figure `figure` of round `round`: they alternate from one figure
 * to the next and from one round to the next, so each side goes first as often as the other.
 */
export function etcdFirst(figure: number, round: number): boolean {
  return (figure + round) % 2 === 0;
}
