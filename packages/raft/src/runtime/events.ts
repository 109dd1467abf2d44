import type { NodeState } from "../core/ready.js";
import type { NodeId, SnapshotMeta } from "../log-types.js";
import type { Logger } from "../logger.js";

/** What a node reports to observers (hashicorp/raft's observations). */
export type RaftEvent =
  | { readonly type: "leaderChange"; readonly leader: NodeId | undefined; readonly term: number }
  | { readonly type: "stateChange"; readonly state: NodeState; readonly term: number }
  | { readonly type: "peerUnreachable"; readonly peer: NodeId }
  | { readonly type: "peerRecovered"; readonly peer: NodeId }
  | { readonly type: "snapshotTaken"; readonly snapshot: SnapshotMeta; readonly size: number }
  | { readonly type: "snapshotInstalled"; readonly snapshot: SnapshotMeta }
  /** A user snapshot restored onto the cluster replaced this node's state at `index`. */
  | {
      readonly type: "restored";
      readonly index: number;
      readonly term: number;
      readonly size: number;
    }
  /**
   * A log or stable store write has been unfinished for `diskStallTicks` (completed false; a
   * leader then hands leadership over), or the stalled write finished (completed true).
   * `elapsedMs` is how long it had been running.
   */
  | { readonly type: "diskStall"; readonly elapsedMs: number; readonly completed: boolean }
  | { readonly type: "failed"; readonly error: Error };

export type RaftEventListener = (event: RaftEvent) => void;

/** The listeners of one node. A listener that throws is logged and does not affect others. */
export class Observers {
  private readonly listeners = new Set<RaftEventListener>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  add(listener: RaftEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: RaftEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, "an observer threw; ignored");
      }
    }
  }
}
