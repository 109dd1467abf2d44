// The simulation's command line on the engine's own simulated stores (see sim-command.ts).
//
//   npm run sim -w @raftstore/raft -- --seed 42            replay seed 42, print its result
//   npm run sim -w @raftstore/raft -- --seeds 1000         seeds 1..1000, JSON summary
import { simCommand } from "./sim-command.js";

simCommand(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
