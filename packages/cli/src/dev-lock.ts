import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CommandFailedError } from "./errors.js";

// One `raftstore dev` per directory. Each node also locks its own data directory, but two dev
// clusters on one directory would otherwise get as far as starting nodes that fail one by
// one; this lock says "another dev cluster runs here" before anything starts.

export const DEV_LOCK_FILE = "dev.lock";

export interface DevLock {
  release(): Promise<void>;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

async function holderOf(path: string): Promise<number | undefined> {
  try {
    const { pid } = JSON.parse(await readFile(path, "utf8")) as { pid?: unknown };
    return typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // Unreadable or half-written: someone is creating it right now, or it is damaged.
    return -1;
  }
}

/**
 * Locks `dir` for this process (creating `dir`). A lock whose process is gone is taken over;
 * a live one fails with a message that says which process holds it and what to do.
 */
export async function lockDevDirectory(dir: string, shownDir: string): Promise<DevLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, DEV_LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(path, "wx");
      try {
        await file.writeFile(`${JSON.stringify({ pid: process.pid })}\n`);
      } finally {
        await file.close();
      }
      return {
        async release() {
          if ((await holderOf(path)) === process.pid) await unlink(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await holderOf(path);
    const stale = holder !== undefined && holder !== -1 && !processExists(holder);
    if (!stale || attempt > 0) {
      const who = holder === undefined || holder === -1 ? "another process" : `process ${holder}`;
      throw new CommandFailedError(
        `another \`raftstore dev\` (${who}) is running on ${shownDir}.\nStop it (Ctrl-C in its terminal), or give this one its own directory with --dir. If no raftstore dev is running, delete ${join(shownDir, DEV_LOCK_FILE)}.`,
      );
    }
    await unlink(path).catch((unlinkError: NodeJS.ErrnoException) => {
      if (unlinkError.code !== "ENOENT") throw unlinkError;
    });
  }
}
