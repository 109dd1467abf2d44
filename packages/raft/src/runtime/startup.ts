import { createEntry, verifyEntry } from "../checksum.js";
import { encodeConfig } from "../config-codec.js";
import type { CoreStorage } from "../core/raft.js";
import {
  CorruptEntryError,
  InconsistentStateError,
  InvalidOptionsError,
  isSnapshotDamage,
} from "../errors.js";
import { type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
import type { SnapshotIdentity } from "../stores.js";
import type { ResolvedOptions } from "./options.js";

/** What a node recovered from its stores. */
export interface RecoveredState {
  readonly storage: CoreStorage;
  /** The snapshot the state machine was restored from, if any. */
  readonly snapshot: SnapshotMeta | undefined;
  /** Whether this start wrote the initial configuration (a brand-new node). */
  readonly bootstrapped: boolean;
}

/**
 * Reads the durable state back and makes it consistent: every entry is checked against its
 * checksum and for contiguity; a log that contradicts the latest snapshot (a crash between
 * storing a received snapshot and resetting the log) is reset to the snapshot; the state
 * machine is restored from the snapshot; and a node with no state at all writes the initial
 * configuration (static bootstrap). A damaged snapshot is passed over for an older one the log
 * continues, or for none if the log starts at 1, and then set aside (etcd and hashicorp/raft
 * fall back the same way). Damage that cannot be explained by a crash or worked around stops
 * the start with a named error.
 */
export async function recoverState(o: ResolvedOptions): Promise<RecoveredState> {
  let hardState = await o.stableStore.load();
  if (
    !Number.isSafeInteger(hardState.term) ||
    hardState.term < 0 ||
    typeof hardState.vote !== "string"
  ) {
    throw new InconsistentStateError(
      `expected a stored hard state {term, vote}, found ${JSON.stringify(hardState)}`,
    );
  }
  const listed = await o.snapshotStore.list();
  const contents = await o.logStore.load();
  let compactedIndex = contents.compactedIndex;
  let entries: readonly Entry[] = contents.entries;
  entries.forEach((entry, i) => {
    if (!verifyEntry(entry)) throw new CorruptEntryError(entry.index, "loaded from the log store");
    if (entry.index !== compactedIndex + 1 + i) {
      throw new InconsistentStateError(
        `expected log entry ${compactedIndex + 1 + i} at position ${i}, found ${entry.index}`,
      );
    }
  });
  /** Whether the log takes up where `snapshot` ends, so that the two make a whole state. */
  const continues = (snapshot: SnapshotIdentity) =>
    snapshot.index === compactedIndex ||
    (snapshot.index > compactedIndex &&
      entries[snapshot.index - compactedIndex - 1]?.term === snapshot.term);

  const newest = listed[0];
  if (newest !== undefined && compactedIndex > newest.index) {
    throw new InconsistentStateError(
      `the log is compacted through ${compactedIndex}, past the latest snapshot at ${newest.index}`,
    );
  }
  // The newest snapshot first. If it is damaged, an older one the log continues (or, with the
  // whole log still there, none) makes the same state: the log replays what the damaged one
  // held. The damaged ones are set aside only once the state is rebuilt without them.
  const damaged: { snapshot: SnapshotIdentity; error: unknown }[] = [];
  for (const candidate of listed) {
    if (damaged.length > 0 && !continues(candidate)) break;
    let snapshot: SnapshotMeta;
    try {
      snapshot = await restoreFrom(o, candidate);
    } catch (error) {
      if (!isSnapshotDamage(error)) throw error;
      o.logger.warn(
        { node: o.id, snapshot: candidate.index, err: String(error) },
        "the snapshot is damaged; trying an older one",
      );
      damaged.push({ snapshot: candidate, error });
      continue;
    }
    if (damaged.length === 0 && !continues(snapshot)) {
      // The log does not continue the snapshot: it is older than a snapshot received from a
      // leader (the crash came before the log was reset). The snapshot holds committed state
      // and wins; the log is discarded.
      o.logger.warn(
        { node: o.id, snapshot: snapshot.index, lastIndex: compactedIndex + entries.length },
        "log does not continue the latest snapshot; resetting it to the snapshot",
      );
      await o.logStore.reset(snapshot.index);
      compactedIndex = snapshot.index;
      entries = [];
    }
    await setAside(o, damaged, snapshot);
    return {
      storage: { hardState, snapshot, compactedIndex, entries },
      snapshot,
      bootstrapped: false,
    };
  }
  if (damaged.length > 0) {
    if (compactedIndex > 0 || entries.length === 0) {
      const [first] = damaged;
      throw new InconsistentStateError(
        `the snapshots at ${damaged.map((d) => d.snapshot.index).join(", ")} are damaged, and ` +
          `the log (compacted through ${compactedIndex}) continues no older one: the node ` +
          "cannot rebuild its state by itself. Keep its data as it is (its log and vote count " +
          `for the cluster). Another member's snapshot at index ${compactedIndex} or later ` +
          "serves in place of the damaged one: at one index every member holds the same state, " +
          "and one beyond this log replaces it as a leader's snapshot would.",
        { cause: first?.error },
      );
    }
    await setAside(o, damaged, undefined);
  }

  if (compactedIndex > 0) {
    throw new InconsistentStateError(
      `the log is compacted through ${compactedIndex}, but there is no snapshot`,
    );
  }
  const empty: SnapshotMeta = { index: 0, term: 0, config: { voters: [], learners: [] } };
  if (entries.length > 0) {
    return {
      storage: { hardState, snapshot: empty, compactedIndex, entries },
      snapshot: undefined,
      bootstrapped: false,
    };
  }
  if (o.voters.length === 0) {
    throw new InvalidOptionsError(
      "a node with no log and no snapshot needs its initial voters (the voters option)",
    );
  }
  const config = { voters: [...o.voters].sort(), learners: [] };
  const first = createEntry(1, 1, EntryType.Config, encodeConfig(config));
  await o.logStore.append([first]);
  hardState = { term: Math.max(hardState.term, 1), vote: hardState.vote };
  await o.stableStore.save(hardState);
  o.logger.info({ node: o.id, voters: config.voters }, "bootstrapped a new cluster member");
  return {
    storage: { hardState, snapshot: empty, compactedIndex: 0, entries: [first] },
    snapshot: undefined,
    bootstrapped: true,
  };
}

/** Restores the state machine from `snapshot`; returns the snapshot's metadata. */
async function restoreFrom(o: ResolvedOptions, snapshot: SnapshotIdentity): Promise<SnapshotMeta> {
  const source = await o.snapshotStore.open(snapshot);
  if (source === undefined) {
    throw new InconsistentStateError(
      `the snapshot store lists a snapshot at ${snapshot.index} but cannot open it`,
    );
  }
  try {
    await o.fsm.restore(source.read(), source.meta);
  } finally {
    await source.close();
  }
  return source.meta;
}

/** Takes the damaged snapshots out of the store, now that the state was rebuilt without them. */
async function setAside(
  o: ResolvedOptions,
  damaged: readonly { snapshot: SnapshotIdentity }[],
  restoredFrom: SnapshotMeta | undefined,
): Promise<void> {
  for (const { snapshot } of damaged) {
    await o.snapshotStore.setAside(snapshot);
    o.logger.warn(
      { node: o.id, snapshot: snapshot.index, restoredFrom: restoredFrom?.index ?? 0 },
      restoredFrom === undefined
        ? "set a damaged snapshot aside; the state was rebuilt from the whole log"
        : "set a damaged snapshot aside; the state was rebuilt from an older snapshot and the log",
    );
  }
}
