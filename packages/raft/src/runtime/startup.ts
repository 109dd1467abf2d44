import { createEntry, verifyEntry } from "../checksum.js";
import { encodeConfig } from "../config-codec.js";
import type { CoreStorage } from "../core/raft.js";
import { CorruptEntryError, InconsistentStateError, InvalidOptionsError } from "../errors.js";
import { type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
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
 * configuration (static bootstrap). Damage that cannot be explained by a crash stops the start
 * with a named error.
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
  const snapshot = await o.snapshotStore.latest();
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

  if (snapshot !== undefined) {
    if (compactedIndex > snapshot.index) {
      throw new InconsistentStateError(
        `the log is compacted through ${compactedIndex}, past the latest snapshot at ${snapshot.index}`,
      );
    }
    if (compactedIndex < snapshot.index) {
      const atSnapshot = entries[snapshot.index - compactedIndex - 1];
      if (atSnapshot === undefined || atSnapshot.term !== snapshot.term) {
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
    }
    const source = await o.snapshotStore.open(snapshot);
    if (source === undefined) {
      throw new InconsistentStateError(
        `the snapshot store lists a snapshot at ${snapshot.index} but cannot open it`,
      );
    }
    try {
      await o.fsm.restore(source.read(), snapshot);
    } finally {
      await source.close();
    }
    return {
      storage: { hardState, snapshot, compactedIndex, entries },
      snapshot,
      bootstrapped: false,
    };
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
