// Opens the data directory given as its argument and holds it until its stdin closes; prints
// "ready" once it holds it, or "error <name> <pid>" if the open failed.
import { openDataDir } from "../data-dir.js";
import { silentLogger } from "../logger.js";

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: hold-data-dir.ts <data dir>");

try {
  const dir = await openDataDir(path, { logger: silentLogger });
  process.stdout.write("ready\n");
  process.stdin.on("end", () => {
    void dir.close().then(() => process.exit(0));
  });
  process.stdin.resume();
} catch (error) {
  const { name, pid } = error as { name: string; pid?: number };
  process.stdout.write(`error ${name} ${pid ?? ""}\n`);
  process.exit(0);
}
