import type { ScenarioOverrides } from "../testing/scenario.js";
import { runSimulation, type SimulationResult } from "../testing/simulation.js";

/**
 * Runs seeds [from, to] and returns the first failure, if any. For tests: a failure carries
 * the replay command and the end of the trace, so a red CI run says how to reproduce it.
 */
export async function firstFailure(
  from: number,
  to: number,
  overrides: ScenarioOverrides = {},
): Promise<SimulationResult | undefined> {
  for (let seed = from; seed <= to; seed++) {
    const result = await runSimulation(seed, overrides);
    if (!result.ok) return result;
  }
  return undefined;
}

/** A failure described for a test message: what broke, how to replay it, what led to it. */
export function describeFailure(result: SimulationResult | undefined): string {
  if (result === undefined) return "no failure";
  return [
    `seed ${result.seed}: ${result.violation?.message}`,
    `replay: ${result.replay}`,
    ...result.trace.slice(-30),
  ].join("\n");
}
