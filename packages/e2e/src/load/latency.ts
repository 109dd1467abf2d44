/** Latency percentiles of one measured run, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile `q` (0 < q ≤ 1) of ascending `sorted` samples: the smallest
 * sample with at least q of all samples at or below it. No interpolation, so every figure is a
 * latency some request really had.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(q > 0 && q <= 1)) throw new RangeError(`expected a quantile in (0, 1], got ${q}`);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** Summarizes latency samples (ms); NaN everywhere for no samples. Does not modify `samples`. */
export function summarizeLatencies(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (const sample of sorted) total += sample;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number)),
    mean: round(sorted.length === 0 ? Number.NaN : total / sorted.length),
  };
}
