import { CasConflictError } from "../errors.js";
import { createPrng, type Prng } from "../prng.js";
import type { KvTarget, ReadMode } from "./kv-target.js";
import { type LoadResult, type RunLoadOptions, runLoad } from "./run-load.js";

/** The workloads of the cluster benchmark and the etcd comparison. */
export type WorkloadName = "writes" | "cas" | "linearizableReads" | "serializableReads";

export interface WorkloadSettings {
  /** Bytes per value. Default 256. */
  valueBytes?: number;
  /** Distinct keys writes and reads pick from, uniformly. Default 1,000. */
  keys?: number;
  /** Load before each figure's measured time, results discarded. Default 2 s. */
  warmupMs?: number;
  durationMs?: number;
  /**
   * How long `warmUp` runs each workload on a fresh cluster, before the first figure. Default
   * 3 s.
   */
  clusterWarmupMs?: number;
  /** Seeds the value bytes and every client's key choices. */
  seed?: number;
}

type Resolved = Required<WorkloadSettings>;

export const defaultWorkloadSettings: Resolved = {
  valueBytes: 256,
  keys: 1000,
  warmupMs: 2000,
  durationMs: 5000,
  clusterWarmupMs: 3000,
  seed: 1,
};

/** Key i of the shared key space: the same names on every target. */
export const keyName = (i: number) => `key-${String(i).padStart(6, "0")}`;

function benchValue(settings: Resolved): Uint8Array {
  const prng = createPrng(settings.seed).fork(7);
  return Uint8Array.from({ length: settings.valueBytes }, () => prng.int(256));
}

/**
 * Writes every key of the key space once (64 at a time), so that reads find values. Run it
 * before read workloads; writes do not need it.
 */
export async function preloadKeys(
  target: KvTarget,
  settings: WorkloadSettings = {},
): Promise<void> {
  const s = { ...defaultWorkloadSettings, ...settings };
  const value = benchValue(s);
  let next = 0;
  const writer = async (client: number) => {
    for (let i = next++; i < s.keys; i = next++) await target.put(client, keyName(i), value);
  };
  await Promise.all(Array.from({ length: Math.min(64, s.keys) }, (_, c) => writer(c)));
}

/**
 * Runs every workload at 64 clients for `clusterWarmupMs` each and discards the results: the load
 * a fresh cluster needs before its figures mean anything. V8 compiles the hot paths of a node
 * (and of this harness) over the first several thousand operations; without this, the first
 * 64-client figure of a fresh raftstore cluster ran 20–30 % slower than the same figure run
 * again right after it, and the nodes used about 40 % more CPU per operation. Both clusters of
 * the comparison get the same warm-up.
 */
export async function warmUp(target: KvTarget, settings: WorkloadSettings = {}): Promise<void> {
  const s = { ...defaultWorkloadSettings, ...settings };
  const workloads: WorkloadName[] = ["writes", "cas", "linearizableReads", "serializableReads"];
  for (const workload of workloads) {
    await runWorkload(target, workload, 64, { ...s, warmupMs: 0, durationMs: s.clusterWarmupMs });
  }
}

/**
 * Runs one workload with `clients` closed-loop clients through `runLoad`:
 * - writes: a put of a random key (on raftstore a blanket Write: read, compare-and-swap);
 * - cas: each client owns a key and swaps it from the version its last write returned, a
 *   single compare-and-swap per operation; a swap refused although nobody else writes that
 *   key counts as a CasConflictError;
 * - linearizableReads / serializableReads: a read of a random key, confirmed by the leader or
 *   served by the member locally.
 */
export async function runWorkload(
  target: KvTarget,
  workload: WorkloadName,
  clients: number,
  settings: WorkloadSettings = {},
  measure: Pick<RunLoadOptions, "clusterCpuMs"> = {},
): Promise<LoadResult> {
  const s = { ...defaultWorkloadSettings, ...settings, ...measure };
  const value = benchValue(s);
  const prngs: Prng[] = Array.from({ length: clients }, (_, c) => createPrng(s.seed).fork(c));
  const randomKey = (client: number) => keyName((prngs[client] as Prng).int(s.keys));
  const read = (mode: ReadMode) => async (client: number) => {
    await target.get(client, randomKey(client), mode);
  };
  switch (workload) {
    case "writes":
      return runLoad({
        ...s,
        clients,
        operation: async (client) => {
          await target.put(client, randomKey(client), value);
        },
      });
    case "cas": {
      const versions = await Promise.all(
        Array.from({ length: clients }, (_, c) => target.put(c, `cas-${c}`, value)),
      );
      return runLoad({
        ...s,
        clients,
        operation: async (client) => {
          const key = `cas-${client}`;
          const next = await target.cas(client, key, versions[client] as string, value);
          if (next === undefined) {
            const current = await target.get(client, key, "linearizable");
            versions[client] = current?.version ?? "";
            throw new CasConflictError(key);
          }
          versions[client] = next;
        },
      });
    }
    case "linearizableReads":
      return runLoad({ ...s, clients, operation: read("linearizable") });
    case "serializableReads":
      return runLoad({ ...s, clients, operation: read("serializable") });
    default:
      throw new RangeError(`unknown workload ${String(workload)}`);
  }
}
