import { checksum } from "../checksum.js";
import { isSnapshotDamage } from "../errors.js";
import type { NodeId, SnapshotMeta } from "../log-types.js";
import type { Logger } from "../logger.js";
import type { Message, SnapshotChunkResponseMessage } from "../messages.js";
import { type SnapshotSource, type SnapshotStore, sameSnapshot } from "../stores.js";

/** What the sender needs from its node. */
export interface SenderHost {
  readonly id: NodeId;
  readonly snapshotStore: SnapshotStore;
  readonly logger: Logger;
  term(): number;
  send(message: Message): void;
  /** The transfer to `peer` ended: installed (or not needed), or failed. */
  reportSnapshot(peer: NodeId, installed: boolean): void;
  /** Reading `snapshot` from the store found it damaged: it must be replaced, or every try fails. */
  snapshotDamaged(snapshot: SnapshotMeta): void;
}

export interface SenderOptions {
  readonly chunkSize: number;
  /** Chunks sent ahead of the last acknowledgement. */
  readonly window: number;
  /** Ticks without any answer before resending from the last acknowledged offset. */
  readonly timeoutTicks: number;
}

interface Transfer {
  readonly peer: NodeId;
  snapshot: SnapshotMeta;
  source: SnapshotSource | undefined;
  iterator: AsyncIterator<Uint8Array> | undefined;
  size: number;
  /** Bytes the receiver has durably written (its last "next offset"). */
  acked: number;
  /** Bytes sent so far in the current pass. */
  sent: number;
  state: "opening" | "streaming" | "installing";
  /** Bumped whenever reading restarts at another offset, to retire the old reader. */
  generation: number;
  idleTicks: number;
  filling: boolean;
  /** The offset last resent because the receiver repeated it (see onResponse). */
  resentFrom: number | undefined;
}

/**
 * Streams snapshots to followers as chunk messages (leader side). A transfer is a window of
 * chunks in flight, each acknowledged with the receiver's next expected offset; a pass that
 * stalls (lost chunks, a peer that was away) resumes from the last acknowledged offset, never
 * from zero, and a receiver that lost its partial state (it restarted) says so by asking for
 * offset 0. Once every byte is durable on the receiver ("installing"), the sender only asks for
 * news now and then: however long the state machine takes to restore, a transfer that succeeded
 * is never discarded and restarted (the ClickHouse/NuRaft livelock).
 */
export class SnapshotSender {
  private readonly transfers = new Map<NodeId, Transfer>();
  private readonly host: SenderHost;
  private readonly options: SenderOptions;

  constructor(host: SenderHost, options: SenderOptions) {
    this.host = host;
    this.options = options;
  }

  get active(): number {
    return this.transfers.size;
  }

  /** The lowest snapshot index being sent: the log after it must be kept for the receivers. */
  minSnapshotIndex(): number | undefined {
    let min: number | undefined;
    for (const t of this.transfers.values()) {
      if (min === undefined || t.snapshot.index < min) min = t.snapshot.index;
    }
    return min;
  }

  /** Starts (or keeps going) a transfer of `snapshot` to `peer`. */
  start(peer: NodeId, snapshot: SnapshotMeta): void {
    const existing = this.transfers.get(peer);
    if (existing !== undefined) {
      if (sameSnapshot(existing.snapshot, snapshot)) {
        return;
      }
      this.close(existing);
    }
    const t: Transfer = {
      peer,
      snapshot,
      source: undefined,
      iterator: undefined,
      size: 0,
      acked: 0,
      sent: 0,
      state: "opening",
      generation: 0,
      idleTicks: 0,
      filling: false,
      resentFrom: undefined,
    };
    this.transfers.set(peer, t);
    this.openSnapshot(snapshot).then(
      (source) => {
        if (this.transfers.get(peer) !== t) {
          void source?.close();
          return;
        }
        if (source === undefined) {
          this.abandon(t, "the snapshot store no longer has it");
          return;
        }
        t.source = source;
        t.snapshot = source.meta;
        t.size = source.size;
        t.state = "streaming";
        this.readFrom(t, 0);
        this.fill(t);
      },
      (error: unknown) => this.abandon(t, "opening it failed", error),
    );
  }

  onResponse(r: SnapshotChunkResponseMessage): void {
    const t = this.transfers.get(r.from);
    if (
      t === undefined ||
      t.snapshot.index !== r.snapshotIndex ||
      t.snapshot.term !== r.snapshotTerm
    ) {
      return;
    }
    t.idleTicks = 0;
    switch (r.status) {
      case "receiving":
        if (t.state !== "streaming") {
          // The receiver lost the snapshot it was installing (it restarted): start over.
          if (t.state === "installing") {
            t.state = "streaming";
            t.acked = 0;
            this.readFrom(t, 0);
            this.fill(t);
          }
          return;
        }
        if (r.nextOffset < t.acked || r.nextOffset > t.sent) {
          // The receiver restarted (asks for less than it had), or already holds more than this
          // pass sent (a transfer resumed after an interruption): continue where it is.
          t.acked = Math.min(r.nextOffset, t.size);
          this.readFrom(t, t.acked);
        } else if (r.nextOffset === t.acked && t.sent > t.acked && t.resentFrom !== t.acked) {
          // A repeated offset: the receiver got a later chunk but not the one at that offset,
          // which was lost (or is late). Resend from it now, once, rather than wait a timeout
          // per lost chunk.
          t.resentFrom = t.acked;
          this.readFrom(t, t.acked);
        } else {
          t.acked = r.nextOffset;
        }
        this.fill(t);
        break;
      case "installing":
        t.state = "installing";
        t.acked = t.size;
        break;
      case "installed":
        this.finish(t, true);
        break;
      case "rejected":
        this.finish(t, false);
        break;
    }
  }

  /** One tick of time: resume stalled transfers, ask installing receivers for news. */
  tick(): void {
    for (const t of this.transfers.values()) {
      if (t.state === "opening") continue;
      t.idleTicks++;
      if (t.idleTicks < this.options.timeoutTicks) continue;
      t.idleTicks = 0;
      if (t.state === "streaming") {
        this.readFrom(t, t.acked);
        this.fill(t);
      } else {
        // An empty last chunk at the end offset asks "how is the install going?".
        this.sendChunk(t, t.size, new Uint8Array(0), true);
      }
    }
  }

  /** Leadership ended: every transfer stops. */
  stopAll(): void {
    for (const t of [...this.transfers.values()]) this.close(t);
  }

  /**
   * Opens the snapshot the core asked for or, if the store has already replaced it, a newer
   * one: any snapshot at or after the requested index serves the follower as well, because the
   * leader keeps the log after every snapshot it sends.
   */
  private async openSnapshot(snapshot: SnapshotMeta): Promise<SnapshotSource | undefined> {
    const exact = await this.host.snapshotStore.open(snapshot);
    if (exact !== undefined) return exact;
    const newest = await this.host.snapshotStore.open();
    if (newest !== undefined && newest.meta.index >= snapshot.index) return newest;
    await newest?.close();
    return undefined;
  }

  private finish(t: Transfer, installed: boolean): void {
    this.close(t);
    this.host.reportSnapshot(t.peer, installed);
  }

  private abandon(t: Transfer, why: string, error?: unknown): void {
    if (this.transfers.get(t.peer) !== t) return;
    this.host.logger.error(
      { node: this.host.id, peer: t.peer, snapshot: t.snapshot.index, err: error },
      `snapshot transfer abandoned: ${why}`,
    );
    this.finish(t, false);
    if (isSnapshotDamage(error)) this.host.snapshotDamaged(t.snapshot);
  }

  private close(t: Transfer): void {
    if (this.transfers.get(t.peer) === t) this.transfers.delete(t.peer);
    t.generation++;
    void t.iterator?.return?.();
    t.iterator = undefined;
    void t.source?.close().catch(() => {});
    t.source = undefined;
  }

  /** Restarts reading at `offset`, retiring the reader of the previous pass. */
  private readFrom(t: Transfer, offset: number): void {
    t.generation++;
    void t.iterator?.return?.();
    t.sent = offset;
    const source = t.source;
    t.iterator =
      source === undefined
        ? undefined
        : rechunk(source.read(offset), this.options.chunkSize)[Symbol.asyncIterator]();
  }

  /** Sends chunks while the window has room. One reader runs per transfer at a time. */
  private fill(t: Transfer): void {
    if (t.filling) return;
    t.filling = true;
    this.fillLoop(t)
      .catch((error: unknown) => this.abandon(t, "reading it failed", error))
      .finally(() => {
        t.filling = false;
      });
  }

  private async fillLoop(t: Transfer): Promise<void> {
    const windowBytes = this.options.window * this.options.chunkSize;
    while (this.transfers.get(t.peer) === t && t.state === "streaming") {
      if (t.size === 0) {
        // An empty snapshot is one empty last chunk.
        this.sendChunk(t, 0, new Uint8Array(0), true);
        return;
      }
      if (t.sent >= t.size || t.sent - t.acked >= windowBytes) return;
      const generation = t.generation;
      const iterator = t.iterator;
      if (iterator === undefined) return;
      const next = await iterator.next();
      if (generation !== t.generation) continue; // restarted meanwhile; read again
      if (next.done === true) {
        throw new Error(`the snapshot ended at ${t.sent} bytes, before its size of ${t.size}`);
      }
      const offset = t.sent;
      t.sent += next.value.byteLength;
      this.sendChunk(t, offset, next.value, t.sent >= t.size);
    }
  }

  private sendChunk(t: Transfer, offset: number, data: Uint8Array, last: boolean): void {
    this.host.send({
      type: "snapshotChunk",
      from: this.host.id,
      to: t.peer,
      term: this.host.term(),
      snapshot: t.snapshot,
      offset,
      size: t.size,
      data,
      checksum: checksum(data),
      last,
    });
  }
}

/** Re-cuts a stream of byte arrays into copies of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(size);
  let filled = 0;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.byteLength) {
      const take = Math.min(size - filled, piece.byteLength - at);
      buffer.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === size) {
        yield buffer;
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.slice(0, filled);
}
