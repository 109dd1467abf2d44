// A node in a child process, for tests: flags come as one JSON argument; SIGTERM stops the node
// gracefully. Prints "ready <url>" once it listens.
import { loadConfig } from "../config.js";
import { startNode } from "../node.js";

const flags = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
const node = await startNode(loadConfig({ flags }));
process.stdout.write(`ready ${node.url}\n`);
let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void node.close({ transferLeadership: true }).then(() => process.exit(0));
});
await node.stopped;
