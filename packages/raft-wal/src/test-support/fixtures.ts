import { createEntry, type Entry, EntryType } from "@raftstore/raft";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { type FileSystem, parentOf } from "../file-system.js";
import type { Logger } from "../logger.js";
import { SyncGuard } from "../sync-guard.js";
import { SyncMetrics } from "../sync-metrics.js";
import { openWal, type Wal, type WalOptions } from "../wal.js";

/** The data of entry `index`: recognisable, and a different length for different indexes. */
export function payload(index: number, size = 8 + (index % 23)): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (index * 31 + i * 7 + 1) & 0xff;
  return bytes;
}

/** Entry `index` of term `term` with its recognisable data. */
export function entry(index: number, term = 1, size?: number): Entry {
  return createEntry(index, term, EntryType.Normal, payload(index, size));
}

/** Entries `from` to `to`, inclusive. */
export function entries(from: number, to: number, term = 1, size?: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push(entry(index, term, size));
  return result;
}

/** The indexes of some entries, for compact assertions. */
export function indexes(list: readonly Entry[]): number[] {
  return list.map((e) => e.index);
}

/** A logger that keeps what it is told. */
export interface RecordingLogger extends Logger {
  readonly records: { level: string; fields: object; message: string | undefined }[];
}

export function recordingLogger(): RecordingLogger {
  const records: RecordingLogger["records"] = [];
  const at = (level: string) => (fields: object, message?: string) => {
    records.push({ level, fields, message });
  };
  return { records, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export function newGuard(clock: Clock = systemClock, slowSyncMs = 1000): SyncGuard {
  return new SyncGuard({ metrics: new SyncMetrics(), clock, slowSyncMs });
}

/** Opens (creating if needed) a log in `dir` of `fs`. */
export async function openTestWal(
  fs: FileSystem,
  options: WalOptions & { dir?: string; guard?: SyncGuard; logger?: Logger } = {},
): Promise<Wal> {
  const dir = options.dir ?? "/wal";
  await fs.mkdir(dir);
  // As openDataDir does: the new directory's entry is durable once its parent is synced.
  await fs.syncDirectory(parentOf(dir));
  return openWal({
    fs,
    dir,
    guard: options.guard ?? newGuard(),
    logger: options.logger ?? recordingLogger(),
    options,
    create: true,
  });
}

/** Lets every pending promise callback run (the simulated disk settles on microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
