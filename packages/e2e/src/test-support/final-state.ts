import type { RaftstoreCluster } from "../raftstore-cluster.js";
import { sleep } from "../wait.js";
import type { ReadResult, WriteRecord } from "./register-values.js";
import type { RegisterWorkload } from "./register-workload.js";

/** A key's final value, version and uid. */
export type FinalValue = ReadResult;

/**
 * Reads every key strongly through every running member, after the load stopped (these reads
 * go into the history too), retrying a read until it succeeds. Returns the state and the
 * disagreements between members, which must be none: nothing writes any more.
 */
export async function readFinalState(
  workload: RegisterWorkload,
  cluster: RaftstoreCluster,
  keys: readonly string[],
): Promise<{ state: Map<string, FinalValue>; disagreements: string[] }> {
  const state = new Map<string, FinalValue>();
  const disagreements: string[] = [];
  for (const key of keys) {
    for (const member of cluster.members.filter((m) => m.state === "running")) {
      let read: FinalValue | undefined;
      for (let attempt = 0; read === undefined; attempt++) {
        read = await workload.strongRead(0, member.id, key);
        if (read === undefined) {
          if (attempt >= 100)
            throw new Error(`a strong read of ${key} via ${member.id} kept failing`);
          await sleep(100);
        }
      }
      const first = state.get(key);
      if (first === undefined) state.set(key, read);
      else if (
        first.version !== read.version ||
        first.value !== read.value ||
        first.uid !== read.uid
      ) {
        disagreements.push(
          `${key}: ${member.id} read ${JSON.stringify(read)}, another member ${JSON.stringify(first)}`,
        );
      }
    }
  }
  return { state, disagreements };
}

/**
 * Acknowledged writes the final state does not account for. Versions only grow, so a key whose
 * final version is below the version an acknowledged write got has lost that write; and the
 * final value must come from a write that was not refused.
 */
export function lostWrites(
  acknowledged: readonly WriteRecord[],
  state: ReadonlyMap<string, FinalValue>,
  writes: ReadonlyMap<string, WriteRecord>,
): string[] {
  const problems: string[] = [];
  for (const write of acknowledged) {
    const final = state.get(write.key);
    if (final === undefined || BigInt(final.version || "0") < BigInt(write.version ?? "0")) {
      problems.push(
        `${write.key}=${write.value} was acknowledged at version ${write.version}, but the key ends at ${final?.version ?? "nothing"}`,
      );
    }
  }
  for (const [key, final] of state) {
    const source = final.value === undefined ? undefined : writes.get(final.value);
    if (source === undefined || source.key !== key || source.status === "failed") {
      problems.push(
        `${key} ends with ${final.value}@${final.version}, which no successful write wrote`,
      );
    }
  }
  return problems;
}
