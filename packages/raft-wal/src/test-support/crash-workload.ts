import type { Entry, HardState, LogContents, SnapshotMeta } from "@raftstore/raft";
import { type DataDir, type DataDirOptions, openDataDir } from "../data-dir.js";
import type { ProcessProbe } from "../lock-file.js";
import type { SimFileSystem } from "../testing/sim-file-system.js";
import { entries, entry, payload, recordingLogger } from "./fixtures.js";

// A workload over a data directory that exercises every kind of write the stores make (creation
// of the directory, group-committed appends, segment rotation, tail truncation, compaction,
// snapshot writes with pruning, reset, hard state saves) and records, in issue order, what it
// asked for and what was acknowledged. After a crash at any point, `checkRecovered` verifies that
// what the disk holds is a state the calls could have produced: nothing acknowledged is missing,
// nothing that was never written appears.

export type LogOperation =
  | { readonly kind: "append"; readonly entries: readonly Entry[] }
  | { readonly kind: "truncateAfter" | "compact" | "reset"; readonly index: number };

export interface Tracked<T> {
  readonly value: T;
  acknowledged: boolean;
}

/** What the workload issued, and which calls returned. */
export interface Oracle {
  readonly log: Tracked<LogOperation>[];
  readonly hardStates: Tracked<HardState>[];
  readonly snapshots: Tracked<{ meta: SnapshotMeta; contents: Uint8Array }>[];
  /** The phase the workload is in, by file-system call number where it started. */
  readonly phases: { phase: string; fromCall: number }[];
}

export const dataPath = "/data";

export function dataDirOptions(fs: SimFileSystem, pid: number): DataDirOptions {
  const probe: ProcessProbe = { pid, bootId: "boot", isAlive: (p) => p === pid };
  return { fs, process: probe, logger: recordingLogger(), segmentSize: 200, snapshotChunkSize: 24 };
}

const config = { voters: ["n1", "n2", "n3"], learners: [] };

/** Runs the workload on `fs` (as process 1). Never settles if the disk crashes. */
export async function runWorkload(fs: SimFileSystem, oracle: Oracle): Promise<void> {
  const phase = (name: string) => oracle.phases.push({ phase: name, fromCall: fs.calls });
  const track = <T>(list: Tracked<T>[], value: T, promise: Promise<unknown>) => {
    const record = { value, acknowledged: false };
    list.push(record);
    return promise.then(() => {
      record.acknowledged = true;
    });
  };

  phase("create the data directory");
  const dir: DataDir = await openDataDir(dataPath, dataDirOptions(fs, 1));
  const append = (list: Entry[]) =>
    track(oracle.log, { kind: "append", entries: list }, dir.log.append(list));
  const logCall = (kind: "truncateAfter" | "compact" | "reset", index: number) =>
    track(oracle.log, { kind, index }, dir.log[kind](index));
  const save = (state: HardState) => track(oracle.hardStates, state, dir.stable.save(state));
  const snapshot = async (index: number, term: number, size: number) => {
    const meta = { index, term, config };
    const contents = payload(index, size);
    const record = { value: { meta, contents }, acknowledged: false };
    oracle.snapshots.push(record);
    const sink = await dir.snapshots.create(meta);
    await sink.write(contents.subarray(0, 30));
    await sink.write(contents.subarray(30));
    await sink.commit();
    record.acknowledged = true;
  };

  phase("save the hard state");
  await save({ term: 1, vote: "n1" });
  phase("group-committed appends");
  await Promise.all([
    append([entry(1, 1, 20)]),
    append([entry(2, 1, 20)]),
    append(entries(3, 4, 1, 20)),
  ]);
  phase("appends with segment rotation, and a concurrent hard state save");
  await Promise.all([append(entries(5, 7, 1, 20)), save({ term: 2, vote: "n2" })]);
  phase("tail truncation");
  await logCall("truncateAfter", 4);
  await append(entries(5, 8, 2, 20));
  phase("snapshot write");
  await snapshot(6, 2, 70);
  phase("compaction");
  await logCall("compact", 6);
  await append(entries(9, 10, 2, 20));
  phase("snapshot writes with pruning");
  await snapshot(8, 2, 50);
  await snapshot(10, 2, 24);
  phase("reset after installing a snapshot");
  await snapshot(40, 3, 90);
  await logCall("reset", 40);
  phase("appends after the reset");
  await append(entries(41, 43, 3, 20));
  await save({ term: 3, vote: "" });
  phase("an entry spanning several sectors");
  await append([entry(44, 3, 1500)]);
  phase("close");
  await dir.close();
  phase("done");
}

export function newOracle(): Oracle {
  return { log: [], hardStates: [], snapshots: [], phases: [] };
}

interface ReferenceLog {
  readonly floor: number;
  readonly maxCompacted: number;
  readonly entries: readonly Entry[];
}

function applyOperation(state: ReferenceLog, operation: LogOperation): ReferenceLog {
  switch (operation.kind) {
    case "append":
      return { ...state, entries: [...state.entries, ...operation.entries] };
    case "truncateAfter":
      return { ...state, entries: state.entries.filter((e) => e.index <= operation.index) };
    case "compact":
      return { ...state, maxCompacted: Math.max(state.maxCompacted, operation.index) };
    case "reset":
      return { floor: operation.index, maxCompacted: operation.index, entries: [] };
  }
}

function explains(state: ReferenceLog, loaded: LogContents): boolean {
  const last = state.floor + state.entries.length;
  if (loaded.compactedIndex + loaded.entries.length !== last) return false;
  if (
    loaded.compactedIndex < state.floor ||
    loaded.compactedIndex > Math.max(state.floor, state.maxCompacted)
  ) {
    return false;
  }
  return loaded.entries.every((e, i) =>
    sameEntry(e, state.entries[loaded.compactedIndex - state.floor + i]),
  );
}

function sameEntry(a: Entry, b: Entry | undefined): boolean {
  return (
    b !== undefined &&
    a.index === b.index &&
    a.term === b.term &&
    a.type === b.type &&
    a.checksum === b.checksum &&
    Buffer.from(a.data).equals(Buffer.from(b.data))
  );
}

/**
 * The log states a crash can leave: after every issued operation from the last acknowledged one
 * on, and in the middle of the one after (a prefix of an append, a truncation that removed some
 * of the tail).
 */
function possibleLogs(log: readonly Tracked<LogOperation>[]): ReferenceLog[] {
  const acknowledged = log.findLastIndex((op) => op.acknowledged) + 1;
  const states: ReferenceLog[] = [];
  let state: ReferenceLog = { floor: 0, maxCompacted: 0, entries: [] };
  for (let j = 0; j <= log.length; j++) {
    if (j >= acknowledged) states.push(state);
    const next = log[j]?.value;
    if (next === undefined) break;
    if (j >= acknowledged && next.kind === "append") {
      for (let p = 1; p < next.entries.length; p++) {
        states.push({ ...state, entries: [...state.entries, ...next.entries.slice(0, p)] });
      }
    }
    if (j >= acknowledged && next.kind === "truncateAfter") {
      const kept = state.entries.filter((e) => e.index <= next.index).length;
      for (let n = kept + 1; n < state.entries.length; n++)
        states.push({ ...state, entries: state.entries.slice(0, n) });
    }
    state = applyOperation(state, next);
  }
  return states;
}

/**
 * Throws unless `loaded` is a log that the issued calls `log` (in issue order, with which were
 * acknowledged) could have left behind after a crash.
 */
export function checkLogExplained(
  log: readonly Tracked<LogOperation>[],
  loaded: LogContents,
): void {
  if (!possibleLogs(log).some((state) => explains(state, loaded))) {
    throw new Error(
      `no sequence of the issued calls explains the log: compacted ${loaded.compactedIndex}, entries ` +
        `${loaded.entries.map((e) => `${e.index}@${e.term}`).join(",")}; acknowledged ` +
        `${log.filter((op) => op.acknowledged).length} of ${log.length} calls`,
    );
  }
}

/** Checks a data directory reopened after a crash against what the workload was told. */
export async function checkRecovered(dir: DataDir, oracle: Oracle): Promise<LogContents> {
  const loaded = await dir.log.load();
  checkLogExplained(oracle.log, loaded);

  const hardState = await dir.stable.load();
  const lastSaved = oracle.hardStates.findLastIndex((s) => s.acknowledged);
  const allowed = [
    ...(lastSaved < 0 ? [{ term: 0, vote: "" }] : []),
    ...oracle.hardStates.slice(Math.max(lastSaved, 0)).map((s) => s.value),
  ];
  if (!allowed.some((s) => s.term === hardState.term && s.vote === hardState.vote)) {
    throw new Error(
      `the hard state ${JSON.stringify(hardState)} is none of ${JSON.stringify(allowed)}`,
    );
  }

  const stored = await dir.snapshots.list();
  for (const snapshot of stored) {
    const issued = oracle.snapshots.find(
      (s) => s.value.meta.index === snapshot.index && s.value.meta.term === snapshot.term,
    );
    if (issued === undefined) throw new Error(`snapshot ${snapshot.index} was never written`);
    const source = await dir.snapshots.open(issued.value.meta);
    if (source === undefined)
      throw new Error(`snapshot ${snapshot.index} is listed but cannot be opened`);
    const parts: Uint8Array[] = [];
    for await (const chunk of source.read()) parts.push(chunk);
    await source.close();
    if (!Buffer.concat(parts).equals(Buffer.from(issued.value.contents))) {
      throw new Error(`snapshot ${snapshot.index} does not hold what was written`);
    }
  }
  const newestAcknowledged = Math.max(
    0,
    ...oracle.snapshots.filter((s) => s.acknowledged).map((s) => s.value.meta.index),
  );
  const newest = stored[0]?.index ?? 0;
  if (newest < newestAcknowledged) {
    throw new Error(
      `snapshot ${newestAcknowledged} was acknowledged, but the newest stored is ${newest}`,
    );
  }
  return loaded;
}
