import { describe, expect, it } from "vitest";
import { openDataDir } from "./data-dir.js";
import {
  checkRecovered,
  dataDirOptions,
  dataPath,
  newOracle,
  type Oracle,
  runWorkload,
} from "./test-support/crash-workload.js";
import { entry, settle } from "./test-support/fixtures.js";
import {
  type CrashPolicy,
  keepUnsynced,
  loseUnsynced,
  randomCrash,
} from "./testing/crash-policy.js";
import { createRandom } from "./testing/random.js";
import { SimFileSystem } from "./testing/sim-file-system.js";

// Crash consistency, exhaustively over crash points: the workload (test-support/crash-workload.ts)
// is run once per file-system call, crashing at that call; the disk the next boot sees keeps
// what was synced plus what a crash policy keeps of the rest (nothing, everything, or random
// prefixes with torn or scattered writes). Every such disk must open (a torn tail is repaired), hold every
// acknowledged entry, vote and snapshot, hold nothing that was never written, and keep working.

interface Outcome {
  readonly name: string;
  readonly policy: CrashPolicy;
  /** Crash the recovery itself too, at a call chosen with this seed. */
  readonly crashRecoverySeed?: number;
}

function outcomes(crashAt: number): Outcome[] {
  return [
    { name: "everything unsynced lost", policy: loseUnsynced },
    { name: "everything unsynced kept", policy: keepUnsynced },
    { name: `random outcome ${crashAt * 2 + 1}`, policy: randomCrash(crashAt * 2 + 1) },
    {
      name: `random outcome ${crashAt * 2 + 2}, then a crash during recovery`,
      policy: randomCrash(crashAt * 2 + 2),
      crashRecoverySeed: crashAt,
    },
  ];
}

/** The phase of the workload that call `call` belongs to. */
function phaseOf(oracle: Oracle, call: number): string {
  return oracle.phases.findLast((p) => p.fromCall <= call)?.phase ?? "start";
}

/** Opens the crashed disk as a new process, checks it, and checks it keeps working. */
async function recoverAndCheck(disk: SimFileSystem, oracle: Oracle, pid: number): Promise<void> {
  const dir = await openDataDir(dataPath, dataDirOptions(disk, pid));
  const loaded = await checkRecovered(dir, oracle);
  const next = loaded.compactedIndex + loaded.entries.length + 1;
  await dir.log.append([entry(next, 9)]);
  await dir.stable.save({ term: 9, vote: "n9" });
  await dir.close();
  const again = await openDataDir(dataPath, dataDirOptions(disk.restart(keepUnsynced), pid + 1));
  expect((await again.log.load()).entries.at(-1)).toEqual(entry(next, 9));
  expect(await again.stable.load()).toEqual({ term: 9, vote: "n9" });
  await again.close();
}

/** How many file-system calls opening (and checking) a disk takes. */
async function callsToRecover(disk: SimFileSystem, oracle: Oracle): Promise<number> {
  const copy = disk.restart(keepUnsynced);
  const dir = await openDataDir(dataPath, dataDirOptions(copy, 2));
  await checkRecovered(dir, oracle);
  return copy.calls;
}

describe("crash consistency", () => {
  it("recovers every acknowledged write after a crash at any file-system call, whatever the disk kept", async () => {
    const reference = newOracle();
    const complete = new SimFileSystem();
    await runWorkload(complete, reference);
    const totalCalls = complete.calls;
    const crashedPhases = new Set<string>();

    for (let crashAt = 0; crashAt < totalCalls; crashAt++) {
      for (const outcome of outcomes(crashAt)) {
        const fs = new SimFileSystem({ crashAt });
        const oracle = newOracle();
        void runWorkload(fs, oracle);
        await settle();
        expect(fs.crashed).toBe(true);
        const phase = phaseOf(oracle, crashAt);
        crashedPhases.add(phase);
        try {
          let disk = fs.restart(outcome.policy);
          if (outcome.crashRecoverySeed !== undefined) {
            const recoveryCalls = await callsToRecover(disk, oracle);
            const crashRecoveryAt = createRandom(outcome.crashRecoverySeed).int(recoveryCalls);
            const interrupted = disk.restart(keepUnsynced, { crashAt: crashRecoveryAt });
            void openDataDir(dataPath, dataDirOptions(interrupted, 3)).then((dir) =>
              checkRecovered(dir, oracle),
            );
            await settle();
            disk = interrupted.restart(randomCrash(outcome.crashRecoverySeed + 1000));
          }
          await recoverAndCheck(disk, oracle, 10);
        } catch (error) {
          throw new Error(
            `crash at call ${crashAt} of ${totalCalls} (${phase}), ${outcome.name}: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
    }
    expect([...crashedPhases]).toEqual(
      reference.phases.map((p) => p.phase).filter((p) => p !== "done"),
    );
  }, 120_000);
});
