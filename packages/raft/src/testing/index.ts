// @raftstore/raft/testing — the deterministic simulation harness and its building blocks.

export { runFigure8, type ScriptedResult } from "./figure8.js";
export { InvariantChecker, InvariantViolation, isInvariantViolation } from "./invariants.js";
export {
  decodeCommand,
  encodeCommand,
  type KvCommand,
  type KvResult,
  KvStateMachine,
  type KvStateMachineOptions,
} from "./kv-fsm.js";
export { type Scenario, type ScenarioOverrides, scenarioFor } from "./scenario.js";
export { simCommand } from "./sim-command.js";
export {
  replayCommand,
  runSimulation,
  type SimulationOptions,
  type SimulationResult,
  type SimulationStats,
} from "./simulation.js";

// Plugging other stores into the simulation: a storage factory per node, and wrappers that
// report what the engine writes through those stores to the invariant checker.

export { DiskStall } from "./disk-stall.js";
export { observeLogStore, observeStableStore, type StoreWatch } from "./observed-stores.js";
export { Prng } from "./prng.js";
export { Scheduler } from "./scheduler.js";
export { SimProcess } from "./sim-process.js";
export {
  type SimStorage,
  type SimStorageContext,
  type SimStorageFactory,
  type SimStores,
  simDiskStorage,
} from "./sim-storage.js";
export type { StoreObserver } from "./sim-stores.js";
