// Test and simulation support: a simulated disk that crashes, tears and fails on command, the
// crash policies that decide what survives, a manual clock, and a seeded random generator.

export { fsError } from "./sim-errors.js";
export {
  SimFileSystem,
  type SimFileSystemOptions,
  type SimOperation,
} from "./sim-file-system.js";

// What a crash keeps, time, and randomness.

export {
  type CrashPolicy,
  type FileCrash,
  keepUnsynced,
  loseUnsynced,
  type PendingFileChange,
  randomCrash,
} from "./crash-policy.js";
export { ManualClock } from "./manual-clock.js";
export { createRandom, type Random } from "./random.js";
