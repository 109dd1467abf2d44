// The engine's simulation on this package's stores, from the command line:
//
//   npm run sim -w @raftstore/raft-wal -- --seed 42        replay seed 42, print its result
//   npm run sim -w @raftstore/raft-wal -- --seeds 500      seeds 1..500, JSON summary
//
// Same flags as the engine's own (`npm run sim -w @raftstore/raft`), see its sim-command.ts.
import { simCommand } from "@raftstore/raft/testing";
import { walSimStorage } from "./engine-sim-storage.js";

simCommand(process.argv.slice(2), {
  storage: walSimStorage(),
  workspace: "@raftstore/raft-wal",
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
