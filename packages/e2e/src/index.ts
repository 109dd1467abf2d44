// Real multi-process clusters for fault tests and benchmarks: raftstore and etcd clusters of
// child processes, the load harness both benchmarks use, and the targets it drives.

// Building blocks, for harnesses of other systems.
export { type Child, type ExitStatus, killAllChildren, spawnChild } from "./child-process.js";
export {
  CasConflictError,
  ChildExitedError,
  EtcdNotFoundError,
  isCasConflictError,
  isChildExitedError,
  isEtcdNotFoundError,
  isWaitTimeoutError,
  WaitTimeoutError,
} from "./errors.js";
export {
  type EtcdCluster,
  findEtcd,
  type StartEtcdClusterOptions,
  startEtcdCluster,
} from "./etcd-cluster.js";
export { freePort, freePorts } from "./free-port.js";
export { createEtcdTarget } from "./load/etcd-target.js";
export type { KvTarget, ReadMode } from "./load/kv-target.js";
export { createClientPool } from "./load/kv-target.js";
export { type LatencySummary, percentile, summarizeLatencies } from "./load/latency.js";
export { benchType, createRaftstoreTarget } from "./load/raftstore-target.js";
export { type LoadResult, type RunLoadOptions, runLoad } from "./load/run-load.js";
export {
  defaultWorkloadSettings,
  keyName,
  preloadKeys,
  runWorkload,
  type WorkloadName,
  type WorkloadSettings,
} from "./load/workloads.js";
export { createPrng, type Prng } from "./prng.js";
export {
  type RaftstoreCluster,
  type RaftstoreSettings,
  type StartRaftstoreClusterOptions,
  startRaftstoreCluster,
} from "./raftstore-cluster.js";
export type { MemberState, NodeEvent, RaftstoreMember } from "./raftstore-member.js";
export { type Probe, sleep, waitFor, withTimeout } from "./wait.js";
