// A process whose only pending work is a SyncThread call (argv[3] "waiting"), or that leaves an
// idle SyncThread behind (argv[3] "idle"): the first must live until the call settles, the second
// must exit on its own. Prints "resolved" or "idle".
import { openSync } from "node:fs";
import { SyncThread } from "../sync-thread.js";

const [path, mode] = process.argv.slice(2) as [string, string];
const fd = openSync(path, "w+");
const thread = new SyncThread();
if (mode === "idle") {
  await thread.writeAndSync(fd, new Uint8Array(8), 0);
  console.log("idle");
} else {
  // Not awaited: nothing but the call itself may keep the process alive.
  void thread.writeAndSync(fd, new Uint8Array(8 * 1024 * 1024), 0).then(() => {
    console.log("resolved");
  });
}
