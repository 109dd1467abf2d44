import { checksum } from "../checksum.js";
import type { DropReason } from "../errors.js";
import {
  isLeadershipLostError,
  isNotCommittedError,
  NotLeaderError,
  ProposalDroppedError,
} from "../errors.js";
import { EntryType, type NodeId } from "../log-types.js";
import { encodeRestoreChunk, encodeRestoreCommit } from "../restore-entry.js";
import { isRestoreOutcome } from "./applier.js";
import { type CallOptions, guardCall } from "./call-guard.js";
import { sleep } from "./clock.js";
import type { ResolvedOptions } from "./options.js";
import { rechunk } from "./snapshot-sender.js";

/** The outcome of appending one entry for a restore. */
export type DirectProposal =
  | {
      readonly appended: true;
      readonly index: number;
      /** Settles with the entry's apply result (rejects as an `apply` would). */
      readonly applied: Promise<unknown>;
    }
  | { readonly appended: false; readonly reason: DropReason; readonly detail: string };

/** What a restore needs from its node. */
export interface RestorerHost {
  readonly options: ResolvedOptions;
  /**
   * Appends one entry to the leader's log now, while this node leads `term`; throws
   * NotLeaderError once it does not.
   */
  propose(term: number, type: EntryType, data: Uint8Array): DirectProposal;
  /** The node's current term, if it leads. */
  leaderTerm(): number | undefined;
  /** The leader this node knows of (for NotLeaderError). */
  leader(): NodeId | undefined;
  /** The restore is over; `leftRunOpen` when chunks were appended without their commit. */
  finished(leftRunOpen: boolean): void;
}

/**
 * Restores a user snapshot onto the cluster from the leader (RaftNode.restore): reads the
 * contents, appends them as a run of chunk entries, then appends the commit entry that makes
 * every node's state machine restore them when it applies it (README.md, "Restoring a snapshot
 * onto a live cluster"). Only this appends while it runs: the node refuses other proposals, so
 * the run is contiguous.
 *
 * Chunks are appended a window at a time (half of maxUncommittedBytes), so a restore larger
 * than the uncommitted-bytes bound passes without ever exceeding it.
 */
export class Restorer {
  private readonly host: RestorerHost;
  private cancelled: Error | undefined;
  private endLeading: (() => void) | undefined;
  /** Resolves when this node stops leading (`leadershipEnded`). */
  private readonly notLeading = new Promise<void>((resolve) => {
    this.endLeading = resolve;
  });
  /** Whether a chunk was appended (a run is open in the log until something follows it). */
  private chunked = false;
  /** Whether the commit entry was appended (from then on the outcome is the cluster's). */
  private committing = false;

  constructor(host: RestorerHost) {
    this.host = host;
  }

  /**
   * This node stopped leading. Chunks it appended may still be committed, but without a commit
   * entry they restore nothing: a restore still appending chunks stops waiting for them and
   * fails with NotLeaderError at once. One whose commit entry is appended waits for the entries
   * applied here to tell whether it was committed.
   */
  leadershipEnded(): void {
    this.endLeading?.();
  }

  /** Stops appending chunks; the restore then fails with `reason`. */
  private cancel(reason: Error): void {
    this.cancelled ??= reason;
  }

  /**
   * Runs the restore as leader of `term` for a caller, with the call's abort signal and
   * timeout: resolves with the index at which the restore took effect.
   */
  start(contents: AsyncIterable<Uint8Array>, term: number, options: CallOptions): Promise<number> {
    const o = this.host.options;
    return new Promise<number>((resolve, reject) => {
      const cancel = (error: Error) => {
        this.cancel(error);
        reject(error);
      };
      const waiter = guardCall(o.clock, resolve, cancel, options, "restore");
      if (waiter === undefined) {
        this.host.finished(false);
        return;
      }
      this.run(contents, term)
        .then(
          (index) => waiter.resolve(index),
          (error: unknown) => {
            // Before its commit entry was appended a restore cannot take effect: say so plainly.
            const plain =
              !this.committing && (isLeadershipLostError(error) || isNotCommittedError(error))
                ? new NotLeaderError(this.host.leader(), { cause: error })
                : error;
            waiter.reject(plain instanceof Error ? plain : new Error(String(plain)));
          },
        )
        .finally(() => this.host.finished(this.leftRunOpen));
    });
  }

  /** Runs the restore as leader of `term`; resolves with the index it took effect at. */
  private async run(contents: AsyncIterable<Uint8Array>, term: number): Promise<number> {
    const o = this.host.options;
    const pieces: Uint8Array[] = [];
    let size = 0;
    let crc = 0;
    for await (const piece of rechunk(contents, o.restoreChunkSize)) {
      this.check(term);
      pieces.push(piece);
      size += piece.byteLength;
      crc = checksum(piece, crc);
    }
    // An empty snapshot is one empty chunk: a run always has one.
    if (pieces.length === 0) pieces.push(new Uint8Array(0));
    const window = Math.max(o.restoreChunkSize, Math.floor(o.maxUncommittedBytes / 2));
    const inflight: { applied: Promise<unknown>; bytes: number }[] = [];
    let inflightBytes = 0;
    const settleOldest = async () => {
      const oldest = inflight.shift();
      if (oldest === undefined) return;
      inflightBytes -= oldest.bytes;
      await Promise.race([oldest.applied, this.notLeading.then(() => this.check(term))]);
    };
    let first = 0;
    for (let seq = 0; seq < pieces.length; seq++) {
      const piece = pieces[seq] as Uint8Array;
      const chunk = await this.append(term, encodeRestoreChunk(seq, piece), settleOldest);
      if (seq === 0) first = chunk.index;
      else if (chunk.index !== first + seq) {
        throw new Error(
          `restore chunk ${seq} went to entry ${chunk.index}, expected ${first + seq}: the run is not contiguous`,
        );
      }
      chunk.applied.catch(() => undefined);
      inflight.push({ applied: chunk.applied, bytes: piece.byteLength });
      inflightBytes += piece.byteLength;
      while (inflightBytes > window) await settleOldest();
    }
    const commit = encodeRestoreCommit({ first, chunks: pieces.length, size, checksum: crc });
    const committed = await this.append(term, commit, settleOldest, true);
    const result = await committed.applied;
    if (!isRestoreOutcome(result)) {
      throw new Error(`expected the outcome of a restore at entry ${committed.index}`);
    }
    if (!result.restored) throw result.error;
    return result.index;
  }

  /** Whether chunks were appended without their commit: the run is left open at the log's end. */
  private get leftRunOpen(): boolean {
    return this.chunked && !this.committing;
  }

  /**
   * Appends one entry of the run, waiting (for earlier chunks to apply, or a tick) while the
   * uncommitted-bytes bound refuses it.
   */
  private async append(
    term: number,
    data: Uint8Array,
    settleOldest: () => Promise<void>,
    isCommit = false,
  ): Promise<{ index: number; applied: Promise<unknown> }> {
    for (;;) {
      this.check(term);
      const result = this.host.propose(term, EntryType.Restore, data);
      if (result.appended) {
        if (isCommit) this.committing = true;
        else this.chunked = true;
        return result;
      }
      if (result.reason !== "uncommitted-limit") {
        throw new ProposalDroppedError(result.reason, result.detail);
      }
      await settleOldest();
      await sleep(this.host.options.clock, this.host.options.tickIntervalMs);
    }
  }

  private check(term: number): void {
    if (this.cancelled !== undefined) throw this.cancelled;
    if (this.host.leaderTerm() !== term) {
      throw new NotLeaderError(this.host.leader(), {
        cause: new Error(`leadership of term ${term} ended before the restore was committed`),
      });
    }
  }
}
