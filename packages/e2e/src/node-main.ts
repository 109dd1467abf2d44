// One raftstore node as a child process of a fault test or a benchmark (the entry point
// `startRaftstoreCluster` spawns; run it with `node --conditions=@raftstore/source --import tsx`).
//
// argv[2] holds the node's settings as JSON, with the camelCase keys of `loadConfig`'s flags.
// What the node prints on stdout, one line each, is for the harness:
//   ready <url>           it serves its port and its engine runs;
//   event <json>          an engine event the harness may wait for (snapshotInstalled, …).
// Logs go to stderr. SIGTERM stops the node gracefully (leadership handed over, requests in
// flight finished) and exits 0. When stdin ends, the harness is gone: the node exits at once,
// so that no node outlives the test that started it, however that test ended.
import { loadConfig, type RaftstoreNode, startNode } from "@raftstore/server";

const flags = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
let node: RaftstoreNode;
try {
  node = await startNode(loadConfig({ flags }));
} catch (error) {
  // A bad setting or data directory: the message says what to fix; the harness shows the log.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const print = (line: string) => process.stdout.write(`${line}\n`);
node.raft.observe((event) => {
  switch (event.type) {
    case "snapshotInstalled":
      print(`event ${JSON.stringify({ type: event.type, index: event.snapshot.index })}`);
      break;
    case "snapshotTaken":
      print(`event ${JSON.stringify({ type: event.type, index: event.snapshot.index })}`);
      break;
    case "leaderChange":
      print(
        `event ${JSON.stringify({ type: event.type, leader: event.leader, term: event.term })}`,
      );
      break;
    default:
      break;
  }
});
print(`ready ${node.url}`);

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void node.close({ transferLeadership: true }).then(() => process.exit(0));
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
await node.stopped;
// Stopped without being asked to: the engine failed (a disk error, a corrupt log).
process.exit(stopping ? 0 : 1);
