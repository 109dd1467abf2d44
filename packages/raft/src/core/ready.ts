import type { Entry, HardState, NodeId, SnapshotMeta } from "../log-types.js";
import type {
  Message,
  ProposeMessage,
  ProposeResponseMessage,
  SnapshotChunkMessage,
  SnapshotChunkResponseMessage,
} from "../messages.js";

/** A node's role. */
export type NodeState = "follower" | "pre-candidate" | "candidate" | "leader";

/** Volatile state the runtime reports to observers: who leads, and this node's role. */
export interface SoftState {
  readonly state: NodeState;
  /** The leader this node follows (itself when leader), or undefined. */
  readonly leader: NodeId | undefined;
  readonly term: number;
}

/** A linearizable read confirmed by a quorum: serve it once applied ≥ index. */
export interface ReadState {
  readonly context: number;
  readonly index: number;
}

/**
 * Everything the core asks the runtime to do, in one batch (etcd's Ready). The runtime must:
 * 1. send `messages` now (a leader's appends may go out in parallel with its own disk write);
 * 2. make durable, in call order: `snapshot` (reset the log store to it; its data is already in
 *    the snapshot store), then `entries` (after truncating the store past entries[0].index - 1
 *    if it already holds that index), and `hardState`;
 * 3. once all of step 2 is durable, and after every earlier Ready's step 2, call
 *    `persisted()` and send `messagesAfterPersist` (acknowledgements and votes that promise
 *    what was just written);
 * 4. restore the state machine from `snapshot`, then apply `committedEntries` in order, and
 *    report progress with `applied()`;
 * 5. serve `readStates` once applied ≥ their index, fail `failedReads`;
 * 6. stream the snapshots in `snapshotsToSend`, and hand `snapshotChunks` (received) and
 *    `snapshotResponses` (acknowledgements of chunks it sent) to its snapshot transfer code;
 * 7. as leader, decide on each of `proposals` (entries followers asked it to append: `propose`
 *    them, or refuse) and answer with `answerProposal`; as follower, match `proposeResponses`
 *    to the proposals it forwarded.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly snapshot: SnapshotMeta | undefined;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly failedReads: readonly number[];
  readonly snapshotsToSend: readonly { readonly to: NodeId; readonly snapshot: SnapshotMeta }[];
  readonly snapshotChunks: readonly SnapshotChunkMessage[];
  readonly snapshotResponses: readonly SnapshotChunkResponseMessage[];
  readonly proposals: readonly ProposeMessage[];
  readonly proposeResponses: readonly ProposeResponseMessage[];
}
