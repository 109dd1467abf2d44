import { checksum } from "../checksum.js";
import { type Entry, EntryType } from "../log-types.js";
import { decodeRestoreEntry, type RestoreCommit } from "../restore-entry.js";

/** The contents of a completed run, ready for the state machine's `restore`. */
export interface RestoreContents {
  readonly pieces: readonly Uint8Array[];
  readonly size: number;
}

/**
 * The applier's view of a user restore in the log: the run of chunk entries being applied,
 * until its commit entry arrives. A run is contiguous, of one term, with sequence numbers 0, 1,
 * …, because a leader appends nothing else while it restores; any other entry (a newer leader's
 * first entry, say) ends it, and its chunks are then just entries that did nothing.
 *
 * Everything here follows from the log alone, so every node reaches the same verdict on a
 * commit entry. Chunk entries never change the state machine: while a run is open the state
 * is still the state right before its first chunk, which is where a snapshot taken meanwhile
 * is placed (`snapshotPoint`), so that a node restarting from it, or a follower installing
 * it, applies the run's chunks again from the log.
 */
export class RestoreRun {
  private run:
    | { first: number; term: number; last: number; pieces: Uint8Array[]; size: number }
    | undefined;

  /** The index of the run's first chunk, while a run is open. */
  get openSince(): number | undefined {
    return this.run?.first;
  }

  /** The state machine's state was replaced by a snapshot: any open run is gone with it. */
  reset(): void {
    this.run = undefined;
  }

  /**
   * Takes one applied entry. Returns the commit (and the contents it restores) when `entry` is a
   * commit that completes the open run; why not when it is a commit that does not, or a
   * malformed restore entry (a leader's bug: the restore is then refused on every node alike);
   * undefined otherwise. After a returned commit or refusal, the run stays open until `reset`.
   */
  next(
    entry: Entry,
  ): { commit: RestoreCommit; contents: RestoreContents } | { refused: string } | undefined {
    if (entry.type !== EntryType.Restore) {
      this.run = undefined;
      return undefined;
    }
    const data = decodeRestoreEntry(entry.data);
    if (typeof data === "string") return { refused: `entry ${entry.index} is malformed: ${data}` };
    const run = this.run;
    if (data.kind === "chunk") {
      if (data.seq === 0) {
        const pieces = [data.piece];
        this.run = {
          first: entry.index,
          term: entry.term,
          last: entry.index,
          pieces,
          size: data.piece.byteLength,
        };
      } else if (
        run !== undefined &&
        run.term === entry.term &&
        run.last === entry.index - 1 &&
        run.pieces.length === data.seq
      ) {
        run.pieces.push(data.piece);
        run.size += data.piece.byteLength;
        run.last = entry.index;
      } else {
        this.run = undefined;
      }
      return undefined;
    }
    // The run stays open until the applier has restored it (`reset`): until then the state is
    // still the one before its first chunk.
    const problem = checkCommit(data, entry, run);
    if (problem !== undefined || run === undefined) return { refused: problem ?? "no run" };
    return { commit: data, contents: { pieces: run.pieces, size: run.size } };
  }
}

function checkCommit(
  commit: RestoreCommit,
  entry: Entry,
  run:
    | { first: number; term: number; last: number; pieces: Uint8Array[]; size: number }
    | undefined,
): string | undefined {
  if (run === undefined || run.first !== commit.first || run.last !== entry.index - 1) {
    return `expected the ${commit.chunks} chunks from entry ${commit.first} right before the commit at ${entry.index}, found ${run === undefined ? "none" : `chunks ${run.first} to ${run.last}`}`;
  }
  if (run.term !== entry.term || run.pieces.length !== commit.chunks || run.size !== commit.size) {
    return `expected ${commit.chunks} chunks of ${commit.size} bytes in term ${entry.term}, found ${run.pieces.length} of ${run.size} bytes in term ${run.term}`;
  }
  let crc = 0;
  for (const piece of run.pieces) crc = checksum(piece, crc);
  if (crc !== commit.checksum) {
    return `expected contents with CRC32C ${commit.checksum}, found ${crc}`;
  }
  return undefined;
}
