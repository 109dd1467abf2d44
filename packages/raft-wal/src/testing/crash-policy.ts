import { createRandom } from "./random.js";

/** An unsynced change to a file, as a crash policy sees it. */
export type PendingFileChange =
  | {
      readonly kind: "write";
      readonly position: number;
      readonly length: number;
      /** How many of the disk's sectors the write touches. */
      readonly sectors: number;
    }
  | { readonly kind: "truncate"; readonly size: number };

/** What survives of a file's unsynced changes. */
export interface FileCrash {
  /** How many of the unsynced changes survive, in order (a prefix). */
  readonly keep: number;
  /**
   * Tears the change after the kept prefix, if it is a write: its first `bytes` bytes survive,
   * and with `zeroFill` the file also grows to the end of the sector the cut falls in, with
   * zeros there (the size reached the disk, the data did not).
   */
  readonly tear?: { readonly bytes: number; readonly zeroFill: boolean };
  /**
   * Instead of a prefix, these sectors of the change after the kept prefix survive, if it is a
   * write (0 is the first sector it touches): a write over space already on disk may reach it
   * scattered when the power fails during its sync. The other sectors keep what the disk held.
   * Takes precedence over `tear`.
   */
  readonly scatter?: readonly number[];
}

/**
 * Decides, at a crash, what the disk kept of what was not synced. The model: synced bytes and
 * synced directory entries always survive; of a file's unsynced changes, a prefix survives, and
 * the next write may be torn; of a directory's unsynced entries (created, renamed, linked or
 * removed names), a prefix survives, in order (a journaling file system commits them in order).
 */
export interface CrashPolicy {
  file(file: { readonly path: string; readonly pending: readonly PendingFileChange[] }): FileCrash;
  directory(directory: { readonly path: string; readonly pending: number }): number;
}

/** Everything not synced is lost. */
export const loseUnsynced: CrashPolicy = {
  file: () => ({ keep: 0 }),
  directory: () => 0,
};

/** Everything not synced survives (a process crash: the kernel still writes its cache). */
export const keepUnsynced: CrashPolicy = {
  file: ({ pending }) => ({ keep: pending.length }),
  directory: ({ pending }) => pending,
};

/**
 * A random outcome within the model, the same for the same seed: random prefixes of every
 * file's and directory's unsynced changes, and of the first change lost, when a write, a random
 * tear (cut anywhere, sometimes zero filled to the sector's end) or a random scatter (each of its
 * sectors kept or not).
 */
export function randomCrash(seed: number): CrashPolicy {
  const random = createRandom(seed);
  return {
    file({ pending }) {
      const keep = random.int(pending.length + 1);
      const next = pending[keep];
      if (next?.kind !== "write" || next.length === 0) return { keep };
      const outcome = random.int(3);
      if (outcome === 0) return { keep };
      if (outcome === 1) {
        return { keep, tear: { bytes: random.int(next.length), zeroFill: random.int(2) === 0 } };
      }
      const scatter: number[] = [];
      for (let sector = 0; sector < next.sectors; sector++) {
        if (random.int(2) === 0) scatter.push(sector);
      }
      return { keep, scatter };
    },
    directory: ({ pending }) => random.int(pending + 1),
  };
}
