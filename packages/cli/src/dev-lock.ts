import { join } from "node:path";
import {
  acquireLock,
  createNodeFileSystem,
  currentProcess,
  isDataDirLockedError,
  silentLogger,
} from "@raftstore/raft-wal";
import { CommandFailedError } from "./errors.js";

// One `raftstore dev` per directory. Each node also locks its own data directory, but two dev
// clusters on one directory would otherwise get as far as starting nodes that fail one by
// one; this lock says "another dev cluster runs here" before anything starts. It is the data
// directory lock of @raftstore/raft-wal, taken on the dev directory itself.

export const DEV_LOCK_FILE = "LOCK";

export interface DevLock {
  release(): Promise<void>;
}

/**
 * Locks `dir` for this process (creating `dir`). A lock whose process is gone is taken over;
 * a live one fails with a message that says which process holds it and what to do.
 */
export async function lockDevDirectory(dir: string, shownDir: string): Promise<DevLock> {
  // The data directories' mkdir, not node:fs's recursive one, which loops forever under /proc.
  const fs = createNodeFileSystem();
  await fs.mkdir(dir);
  try {
    return await acquireLock(fs, dir, currentProcess(), silentLogger);
  } catch (error) {
    if (!isDataDirLockedError(error)) throw error;
    const who = error.pid === undefined ? "another process" : `process ${error.pid}`;
    throw new CommandFailedError(
      `another \`raftstore dev\` (${who}) is running on ${shownDir}.\nStop it (Ctrl-C in its terminal), or give this one its own directory with --dir. If no raftstore dev is running, delete ${join(shownDir, DEV_LOCK_FILE)}.`,
      { cause: error },
    );
  }
}
