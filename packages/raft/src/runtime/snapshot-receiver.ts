import type { NodeId, SnapshotMeta } from "../log-types.js";
import type { Logger } from "../logger.js";
import type { Message, SnapshotChunkMessage, SnapshotTransferStatus } from "../messages.js";
import { type SnapshotSink, type SnapshotStore, sameSnapshot } from "../stores.js";

/** What the receiver needs from its node. */
export interface ReceiverHost {
  readonly id: NodeId;
  readonly snapshotStore: SnapshotStore;
  readonly logger: Logger;
  term(): number;
  /** The commit index: a snapshot at or below it is not needed. */
  committed(): number;
  send(message: Message): void;
  /**
   * Commits a fully received snapshot, unless it is no longer needed (then aborts it and
   * resolves false). Runs exclusively with the node's own snapshots, so the newest snapshot in
   * the store always has the highest index.
   */
  commitReceived(snapshot: SnapshotMeta, sink: SnapshotSink): Promise<boolean>;
  /** Asks the core to install a committed snapshot; false if it is not needed after all. */
  install(snapshot: SnapshotMeta): boolean;
}

interface Incoming {
  /** The leader streaming it, and its term: a snapshot is resumed only from the same leader. */
  readonly from: NodeId;
  readonly leaderTerm: number;
  readonly snapshot: SnapshotMeta;
  readonly size: number;
  offset: number;
  sink: SnapshotSink | undefined;
  status: "receiving" | "installing" | "installed";
}

/**
 * Receives snapshot chunks (follower side) and writes them to the snapshot store. A chunk is
 * written only at the receiver's current offset; any other chunk is answered with that offset,
 * so the sender resumes exactly there. Partial state is kept per (leader, term, snapshot), so a
 * transfer interrupted by the network resumes where it stopped, while bytes from one leader are
 * never mixed with another's. Chunks are handled one at a time, in arrival order.
 */
export class SnapshotReceiver {
  private incoming: Incoming | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly host: ReceiverHost;

  constructor(host: ReceiverHost) {
    this.host = host;
  }

  /** The snapshot being received or installed, if any. */
  get current(): { snapshot: SnapshotMeta; offset: number; status: string } | undefined {
    const c = this.incoming;
    return c === undefined
      ? undefined
      : { snapshot: c.snapshot, offset: c.offset, status: c.status };
  }

  onChunk(m: SnapshotChunkMessage): void {
    this.queue = this.queue.then(() =>
      this.handle(m).catch((error: unknown) => {
        this.host.logger.error(
          { node: this.host.id, from: m.from, snapshot: m.snapshot.index, err: error },
          "receiving a snapshot failed; the transfer starts over",
        );
        const c = this.incoming;
        this.incoming = undefined;
        void c?.sink?.abort().catch(() => {});
        this.respond(m, "rejected", 0);
      }),
    );
  }

  /** The node finished restoring `snapshot` into its state machine. */
  installed(snapshot: SnapshotMeta): void {
    const c = this.incoming;
    if (c === undefined || c.status !== "installing" || !sameSnapshot(c.snapshot, snapshot)) return;
    c.status = "installed";
    this.host.send(this.response(c.from, c.snapshot, c.size, "installed"));
  }

  /** Drops any partial snapshot (the node is stopping). */
  async close(): Promise<void> {
    const c = this.incoming;
    this.incoming = undefined;
    if (c?.status === "receiving") await c.sink?.abort().catch(() => {});
  }

  private async handle(m: SnapshotChunkMessage): Promise<void> {
    let c = this.incoming;
    const same =
      c !== undefined &&
      c.from === m.from &&
      c.leaderTerm === m.term &&
      c.size === m.size &&
      sameSnapshot(c.snapshot, m.snapshot);
    if (c !== undefined && same) {
      if (c.status !== "receiving") {
        this.respond(m, c.status, c.size);
        return;
      }
      if (m.offset !== c.offset) {
        this.respond(m, "receiving", c.offset);
        return;
      }
    } else {
      if (c?.status === "installing") {
        // Busy restoring another snapshot; the leader will ask again once replication resumes.
        this.respond(m, "rejected", 0);
        return;
      }
      if (m.snapshot.index <= this.host.committed()) {
        this.respond(m, "installed", m.size);
        return;
      }
      if (m.offset !== 0) {
        this.respond(m, "receiving", 0);
        return;
      }
      if (c?.status === "receiving") await c.sink?.abort();
      c = {
        from: m.from,
        leaderTerm: m.term,
        snapshot: m.snapshot,
        size: m.size,
        offset: 0,
        sink: undefined,
        status: "receiving",
      };
      this.incoming = c;
      const created = await this.host.snapshotStore.create(m.snapshot);
      if (this.incoming !== c) {
        // Closed (or replaced) while the sink was being created: nobody else will abort it,
        // and a sink left open leaves its temporary file behind.
        await created.abort().catch(() => {});
        return;
      }
      c.sink = created;
    }
    const sink = c.sink as SnapshotSink;
    if (m.data.byteLength > 0) await sink.write(m.data);
    c.offset += m.data.byteLength;
    if (!m.last && c.offset < c.size) {
      this.respond(m, "receiving", c.offset);
      return;
    }
    if (c.offset !== c.size) {
      throw new Error(`the last chunk ends at ${c.offset}, but the snapshot has ${c.size} bytes`);
    }
    if (!(await this.host.commitReceived(c.snapshot, sink))) {
      c.status = "installed";
      this.respond(m, "installed", c.size);
      return;
    }
    c.status = "installing";
    this.respond(m, "installing", c.size);
    if (!this.host.install(c.snapshot)) {
      c.status = "installed";
      this.respond(m, "installed", c.size);
    }
  }

  private respond(
    m: SnapshotChunkMessage,
    status: SnapshotTransferStatus,
    nextOffset: number,
  ): void {
    this.host.send(this.response(m.from, m.snapshot, nextOffset, status));
  }

  private response(
    to: NodeId,
    snapshot: SnapshotMeta,
    nextOffset: number,
    status: SnapshotTransferStatus,
  ) {
    return {
      type: "snapshotChunkResponse" as const,
      from: this.host.id,
      to,
      term: this.host.term(),
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      nextOffset,
      status,
    };
  }
}
