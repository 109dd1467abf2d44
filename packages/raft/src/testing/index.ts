// @raftstore/raft/testing — the deterministic simulation harness and its building blocks.

export { InvariantChecker, InvariantViolation, isInvariantViolation } from "./invariants.js";
export {
  decodeCommand,
  encodeCommand,
  type KvCommand,
  type KvResult,
  KvStateMachine,
  type KvStateMachineOptions,
} from "./kv-fsm.js";
export { Prng } from "./prng.js";
export { type Scenario, type ScenarioOverrides, scenarioFor } from "./scenario.js";
export { Scheduler } from "./scheduler.js";
export {
  replayCommand,
  runSimulation,
  type SimulationResult,
  type SimulationStats,
} from "./simulation.js";
