import { Inflights } from "./inflights.js";

/**
 * How a leader replicates to one follower:
 * - "probe": the follower's log position is unknown; send one append at a time and wait for
 *   its answer (or a heartbeat response) before the next;
 * - "replicate": the position is known; stream appends optimistically, bounded by inflights;
 * - "snapshot": the follower needs entries the leader has compacted; a snapshot is on its way
 *   and nothing else is sent until it is installed or the transfer fails.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** The leader's view of one follower. */
export class Progress {
  /** The highest index known to be durable on the follower and to match the leader's log. */
  match = 0;
  /** The next index to send. */
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append is in flight, wait for an answer before sending another. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Whether the follower was heard from since the last check-quorum round. */
  recentActive = false;
  /**
   * `match` at the first heartbeat response of the previous heartbeat interval (the leader's
   * `heartbeatRounds` then was `stallCheckRound`), to detect a stalled pipeline.
   */
  matchAtLastHeartbeat = -1;
  stallCheckRound = -1;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMessages: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot (if it installed it): probe from
    // just after it. A failed transfer clears pendingSnapshot first, so this falls to match + 1.
    this.next =
      this.state === "snapshot"
        ? Math.max(this.match + 1, this.pendingSnapshot + 1)
        : this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = snapshotIndex;
    this.probeSent = false;
    this.inflights.reset();
  }

  /**
   * Records a successful append up to `index`. Returns false for a stale acknowledgement (one
   * that tells nothing new), which must not move the follower backwards.
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * Handles a rejected append of `rejected` (its prevIndex), moving `next` back to at most
   * `probeFrom + 1`. Returns false when the rejection is stale (it answers a message sent before
   * the leader already moved on) and must be ignored.
   */
  maybeDecrTo(rejected: number, probeFrom: number): boolean {
    if (this.state === "replicate") {
      // Everything up to match is known to be there: a rejection at or below it is stale.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the last probe (prevIndex next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeFrom + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether nothing may be sent to this follower right now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
