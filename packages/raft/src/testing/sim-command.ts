// The simulation's command line, for any storage: replay one seed, or run many and summarize.
//
//   npm run sim -w @raftstore/raft -- --seed 42            replay seed 42, print its result
//   npm run sim -w @raftstore/raft -- --seeds 1000         seeds 1..1000, JSON summary
//   npm run sim -w @raftstore/raft -- --seeds 200 --from 5000 --unsafe skipVoteUpToDateCheck
//
// Scenario fields can be overridden: --nodes 5 --chaosMs 6000 --loss 0.2 …
import type { UnsafeSwitches } from "../core/core-config.js";
import type { ScenarioOverrides } from "./scenario.js";
import { runSimulation, type SimulationOptions, type SimulationResult } from "./simulation.js";

const unsafeNames = [
  "commitOldTermByCounting",
  "skipVoteUpToDateCheck",
  "readIndexBeforeTermCommit",
];

function parse(argv: string[]) {
  let seed: number | undefined;
  let seeds: number | undefined;
  let from = 1;
  let verbose = false;
  const overrides: Record<string, unknown> = {};
  const unsafe: Record<string, boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    const number = () => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n))
        throw new Error(`expected a number after ${flag}, found ${value}`);
      i++;
      return n;
    };
    if (flag === "--seed") seed = number();
    else if (flag === "--seeds") seeds = number();
    else if (flag === "--from") from = number();
    else if (flag === "--verbose") verbose = true;
    else if (flag === "--unsafe") {
      if (value === undefined || !unsafeNames.includes(value)) {
        throw new Error(
          `expected --unsafe to name one of ${unsafeNames.join(", ")}, found ${value}`,
        );
      }
      unsafe[value] = true;
      i++;
    } else if (flag.startsWith("--")) overrides[flag.slice(2)] = number();
    else throw new Error(`unexpected argument ${flag}`);
  }
  if (Object.keys(unsafe).length > 0) overrides.unsafe = unsafe as UnsafeSwitches;
  return { seed, seeds, from, verbose, overrides: overrides as ScenarioOverrides };
}

/**
 * Runs the simulation command line `argv` (without the program name) with `options` (the
 * storage, and the workspace whose `sim` script replays a run). Resolves with the exit code;
 * the result goes to stdout as JSON, progress and failing traces to stderr.
 */
export async function simCommand(
  argv: readonly string[],
  options: SimulationOptions = {},
): Promise<number> {
  const { seed, seeds, from, verbose, overrides } = parse([...argv]);
  if (seed !== undefined) {
    const result = await runSimulation(seed, overrides, options);
    if (!result.ok || verbose) for (const line of result.trace) process.stderr.write(`${line}\n`);
    process.stdout.write(
      `${JSON.stringify({ ...result, trace: undefined, history: undefined }, null, 2)}\n`,
    );
    return result.ok ? 0 : 1;
  }
  const count = seeds ?? 100;
  const failures: Pick<SimulationResult, "seed" | "violation" | "replay">[] = [];
  const started = performance.now();
  let events = 0;
  const unknownSeeds: number[] = [];
  let installs = 0;
  let seedsWithInstalls = 0;
  for (let s = from; s < from + count; s++) {
    const result = await runSimulation(s, overrides, options);
    events += result.stats.events;
    installs += result.stats.snapshotsInstalled;
    if (result.stats.snapshotsInstalled > 0) seedsWithInstalls++;
    if (result.stats.linearizability === "unknown") unknownSeeds.push(s);
    if (!result.ok) {
      failures.push({ seed: s, violation: result.violation, replay: result.replay });
      process.stderr.write(`seed ${s}: ${result.violation?.message}\n  replay: ${result.replay}\n`);
    } else if ((s - from + 1) % 50 === 0) {
      process.stderr.write(`${s - from + 1}/${count} seeds\n`);
    }
  }
  const summary = {
    seeds: count,
    from,
    passed: count - failures.length,
    failed: failures.length,
    linearizabilityUnknown: unknownSeeds,
    events,
    snapshotsInstalled: installs,
    seedsWithSnapshotInstalls: seedsWithInstalls,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    failures,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return failures.length === 0 ? 0 : 1;
}
