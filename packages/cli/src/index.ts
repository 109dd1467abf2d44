// The `raftstore` command as a library: run it in-process (tests, embedding), and the pieces
// other tools reuse. The executable is bin.ts.

export { CLI_VERSION, runCli } from "./cli.js";
export { type ClusterStatus, gatherClusterStatus, type MemberStatus } from "./cluster-status.js";
// Errors of the CLI itself; each maps to one exit code.
export {
  CommandFailedError,
  InvalidInputError,
  isCommandFailedError,
  isInvalidInputError,
  isUsageError,
  UsageError,
} from "./errors.js";
export { ExitCode, exitCodeForRpc } from "./exit-codes.js";
export type { CliIo, OutputStream, StopRequest } from "./io.js";
export {
  RAW_ANY_BYTES_KEY,
  resourceFromJson,
  resourceToJson,
  watchEventToJson,
} from "./resource-json.js";
export {
  describeId,
  formatType,
  parseType,
  resourceId,
  type TenancyFlags,
} from "./resource-name.js";
export { type FollowOptions, followWatch, type WatchSource } from "./watch-follower.js";
