import { readFileSync } from "node:fs";
import { DataDirLockedError } from "./errors.js";
import {
  closeAfter,
  type FileSystem,
  hasErrorCode,
  joinPath,
  readWholeFile,
} from "./file-system.js";
import type { Logger } from "./logger.js";

// Node has no flock, so the data directory is locked by a file: LOCK holds the pid (and boot id)
// of the process that has the directory open. It is created atomically with its contents
// complete (written to a temporary file, synced, then hard-linked to LOCK, which fails if LOCK
// exists), so a reader never sees a half-written lock. A lock is reclaimed only when its holder
// is provably gone: another boot of the machine, or kill(pid, 0) failing with ESRCH.

/** What the lock needs to know about processes. */
export interface ProcessProbe {
  /** This process's id, written into the lock. */
  readonly pid: number;
  /**
   * The machine's current boot (Linux: /proc/sys/kernel/random/boot_id), or undefined where
   * unknown. A lock written during another boot is stale whatever its pid (pids are reused
   * after a reboot).
   */
  readonly bootId: string | undefined;
  /** Whether a process with this id exists (kill(pid, 0): ESRCH means it does not). */
  isAlive(pid: number): boolean;
}

/** The running process, as the lock sees it. */
export function currentProcess(): ProcessProbe {
  return { pid: process.pid, bootId: readBootId(), isAlive: processExists };
}

function readBootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch (error) {
    // Not Linux (or /proc not mounted): fall back to pids alone.
    if (hasErrorCode(error, "ENOENT") || hasErrorCode(error, "EACCES")) return undefined;
    throw error;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (hasErrorCode(error, "ESRCH")) return false;
    // EPERM: the process exists but belongs to another user.
    if (hasErrorCode(error, "EPERM")) return true;
    throw error;
  }
}

interface Holder {
  readonly pid: number;
  readonly bootId?: string;
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as { pid?: unknown; bootId?: unknown };
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return undefined;
    return typeof value.bootId === "string"
      ? { pid: value.pid as number, bootId: value.bootId }
      : { pid: value.pid as number };
  } catch {
    // Not JSON: reported by the caller as a lock file it cannot read.
    return undefined;
  }
}

const attempts = 3;

/** A held lock on a data directory. */
export class DataDirLock {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #contents: string;
  readonly #logger: Logger;
  #released = false;

  /** @internal Use acquireLock. */
  constructor(fs: FileSystem, path: string, contents: string, logger: Logger) {
    this.#fs = fs;
    this.#path = path;
    this.#contents = contents;
    this.#logger = logger;
  }

  /** Removes the lock file, if it is still this process's. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const current = await readText(this.#fs, this.#path);
    if (current !== this.#contents) {
      this.#logger.warn(
        { file: this.#path, found: current },
        "the lock file is no longer ours; left as is",
      );
      return;
    }
    await this.#fs.unlink(this.#path);
  }
}

/**
 * Takes the lock of the data directory `dir`, or fails at once with DataDirLockedError naming the
 * holder's pid.
 */
export async function acquireLock(
  fs: FileSystem,
  dir: string,
  probe: ProcessProbe,
  logger: Logger,
): Promise<DataDirLock> {
  const lockPath = joinPath(dir, "LOCK");
  const contents = `${JSON.stringify(probe.bootId === undefined ? { pid: probe.pid } : { pid: probe.pid, bootId: probe.bootId })}\n`;
  const isAlive = (holder: Holder) =>
    holder.bootId !== undefined && probe.bootId !== undefined && holder.bootId !== probe.bootId
      ? false
      : probe.isAlive(holder.pid);

  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await tryCreate(fs, dir, lockPath, probe.pid, contents)) {
      await removeLeftovers(fs, dir, probe, lockPath);
      return new DataDirLock(fs, lockPath, contents, logger);
    }
    const text = await readText(fs, lockPath);
    if (text === undefined) continue; // released in between: try again
    const holder = parseHolder(text);
    if (holder === undefined) {
      throw new DataDirLockedError(
        dir,
        undefined,
        `its lock file ${lockPath} holds ${JSON.stringify(text.slice(0, 80))}, not a process id; ` +
          "if no process uses the directory, remove the file",
      );
    }
    if (isAlive(holder)) {
      throw new DataDirLockedError(
        dir,
        holder.pid,
        holder.pid === probe.pid
          ? `this process (pid ${holder.pid}) already has it open`
          : `process ${holder.pid} has it open (lock file ${lockPath}); stop that process first`,
      );
    }
    // The holder is gone. Move its lock aside and check that what was moved is that stale lock:
    // another process may have reclaimed it and taken a fresh one in between, in which case the
    // fresh lock is put back. (Only three processes opening one directory at the same instant
    // as a stale lock is reclaimed could still end with two holders: flock would close that gap,
    // and Node has none.)
    const aside = joinPath(dir, `LOCK.stale.${probe.pid}`);
    try {
      await fs.rename(lockPath, aside);
    } catch (error) {
      if (hasErrorCode(error, "ENOENT")) continue;
      throw error;
    }
    if ((await readText(fs, aside)) === text) {
      await fs.unlink(aside);
      logger.warn(
        { dir, pid: holder.pid },
        "reclaimed the data directory lock of a process that is gone",
      );
    } else {
      await fs.rename(aside, lockPath);
    }
  }
  throw new DataDirLockedError(
    dir,
    undefined,
    `could not take its lock in ${attempts} attempts: another process is opening it at the same time`,
  );
}

/** Creates LOCK with its contents complete; false if it exists. */
async function tryCreate(
  fs: FileSystem,
  dir: string,
  lockPath: string,
  pid: number,
  contents: string,
): Promise<boolean> {
  const temporary = joinPath(dir, `LOCK.${pid}.tmp`);
  const handle = await fs.open(temporary, "create");
  await closeAfter(handle, async () => {
    await handle.write(Buffer.from(contents, "utf8"), 0);
    await handle.datasync();
  });
  let created: boolean;
  try {
    await fs.link(temporary, lockPath);
    created = true;
  } catch (error) {
    if (!hasErrorCode(error, "EEXIST")) throw error;
    created = false;
  }
  await fs.unlink(temporary);
  return created;
}

/** Removes the temporary files of lock attempts by processes that are gone. */
async function removeLeftovers(fs: FileSystem, dir: string, probe: ProcessProbe, lockPath: string) {
  for (const name of await fs.readdir(dir)) {
    const match = /^LOCK\.(?:stale\.)?(\d+)(?:\.tmp)?$/.exec(name);
    if (match === null || joinPath(dir, name) === lockPath) continue;
    const pid = Number(match[1]);
    if (pid !== probe.pid && !probe.isAlive(pid)) {
      try {
        await fs.unlink(joinPath(dir, name));
      } catch (error) {
        if (!hasErrorCode(error, "ENOENT")) throw error;
      }
    }
  }
}

async function readText(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    return (await readWholeFile(fs, path)).toString("utf8");
  } catch (error) {
    if (hasErrorCode(error, "ENOENT")) return undefined;
    throw error;
  }
}
