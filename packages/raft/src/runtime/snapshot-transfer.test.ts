import { describe, expect, it } from "vitest";
import type { SnapshotMeta } from "../log-types.js";
import { silentLogger } from "../logger.js";
import type { Message, SnapshotChunkMessage, SnapshotChunkResponseMessage } from "../messages.js";
import type { SnapshotSink } from "../stores.js";
import { damageSnapshots } from "../test-support/damaged-snapshots.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { SnapshotReceiver } from "./snapshot-receiver.js";
import { rechunk, SnapshotSender } from "./snapshot-sender.js";

// The sender and receiver wired back to back through a hand-driven "network", so each test
// decides which chunks and acknowledgements get through.

const meta: SnapshotMeta = { index: 50, term: 3, config: { voters: ["a", "b"], learners: [] } };
const contents = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function setup(
  options: { install?: () => boolean; window?: number; damaged?: boolean } = {},
) {
  const leaderStore = new MemorySnapshotStore({ readChunkSize: 333 });
  if (options.damaged === true) damageSnapshots(leaderStore, () => true);
  const sink = await leaderStore.create(meta);
  await sink.write(contents);
  await sink.commit();
  const followerStore = new MemorySnapshotStore();
  const toFollower: SnapshotChunkMessage[] = [];
  const toLeader: SnapshotChunkResponseMessage[] = [];
  const reports: boolean[] = [];
  const installs: SnapshotMeta[] = [];
  const damaged: SnapshotMeta[] = [];
  const sender = new SnapshotSender(
    {
      id: "a",
      snapshotStore: leaderStore,
      logger: silentLogger,
      term: () => 3,
      send: (m: Message) => toFollower.push(m as SnapshotChunkMessage),
      reportSnapshot: (_peer, installed) => reports.push(installed),
      snapshotDamaged: (snapshot) => damaged.push(snapshot),
    },
    { chunkSize: 100, window: options.window ?? 2, timeoutTicks: 3 },
  );
  const makeReceiver = () =>
    new SnapshotReceiver({
      id: "b",
      snapshotStore: followerStore,
      logger: silentLogger,
      term: () => 3,
      committed: () => 0,
      send: (m: Message) => toLeader.push(m as SnapshotChunkResponseMessage),
      commitReceived: async (_snapshot: SnapshotMeta, s: SnapshotSink) => {
        await s.commit();
        return true;
      },
      install: (snapshot) => {
        installs.push(snapshot);
        return options.install?.() ?? true;
      },
    });
  return {
    sender,
    makeReceiver,
    toFollower,
    toLeader,
    reports,
    installs,
    damaged,
    followerStore,
  };
}

/** Delivers everything in flight both ways, `rounds` times. */
async function exchange(
  s: Awaited<ReturnType<typeof setup>>,
  receiver: SnapshotReceiver,
  rounds = 30,
  drop: (m: SnapshotChunkMessage) => boolean = () => false,
) {
  for (let i = 0; i < rounds; i++) {
    await flush();
    for (const m of s.toFollower.splice(0)) if (!drop(m)) receiver.onChunk(m);
    await flush();
    await flush();
    for (const r of s.toLeader.splice(0)) s.sender.onResponse(r);
  }
}

async function stored(store: MemorySnapshotStore): Promise<Uint8Array> {
  const source = await store.open();
  const parts: Uint8Array[] = [];
  for await (const part of source?.read() ?? []) parts.push(part);
  return Buffer.concat(parts);
}

describe("snapshot transfer", () => {
  it("streams a snapshot in checksummed chunks within the window, and reports the install", async () => {
    const s = await setup({ window: 2 });
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    await flush();
    await flush();
    expect(s.toFollower).toHaveLength(2); // the window
    await exchange(s, receiver);
    receiver.installed(meta);
    await exchange(s, receiver, 3);
    expect(s.installs).toEqual([meta]);
    expect(s.reports).toEqual([true]);
    expect(Buffer.from(await stored(s.followerStore)).equals(Buffer.from(contents))).toBe(true);
  });

  it("resumes from the last acknowledged offset after a timeout when a whole window is lost, not from zero", async () => {
    const s = await setup({ window: 2 });
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    const sentOffsets: number[] = [];
    const dropped = new Set<number>();
    // Lose the chunks at offsets 300 and 400 once: nothing comes back to tell the sender.
    await exchange(s, receiver, 10, (m) => {
      sentOffsets.push(m.offset);
      if ((m.offset === 300 || m.offset === 400) && !dropped.has(m.offset)) {
        dropped.add(m.offset);
        return true;
      }
      return false;
    });
    expect(receiver.current?.offset).toBe(300);
    const beforeTimeout = sentOffsets.length;
    for (let i = 0; i < 3; i++) s.sender.tick();
    await exchange(s, receiver, 20, (m) => {
      sentOffsets.push(m.offset);
      return false;
    });
    expect(sentOffsets[beforeTimeout]).toBe(300);
    expect(sentOffsets.filter((o) => o === 0)).toHaveLength(1);
    expect(s.installs).toEqual([meta]);
  });

  it("resends a lost chunk as soon as the receiver repeats its offset, without waiting for a timeout", async () => {
    const s = await setup({ window: 2 });
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    const sentOffsets: number[] = [];
    let dropped = false;
    // Lose the chunk at offset 300 once; the one at 400 still arrives, and is answered "300".
    await exchange(s, receiver, 20, (m) => {
      sentOffsets.push(m.offset);
      if (m.offset === 300 && !dropped) {
        dropped = true;
        return true;
      }
      return false;
    });
    expect(s.installs).toEqual([meta]);
    expect(sentOffsets.filter((o) => o === 300)).toHaveLength(2);
    expect(sentOffsets.filter((o) => o === 0)).toHaveLength(1);
    expect(Buffer.from(await stored(s.followerStore)).equals(Buffer.from(contents))).toBe(true);
  });

  it("starts over when the receiver restarted and lost its partial snapshot", async () => {
    const s = await setup({ window: 1 });
    let receiver = s.makeReceiver();
    s.sender.start("b", meta);
    await exchange(s, receiver, 3);
    expect(receiver.current?.offset).toBeGreaterThan(0);
    receiver = s.makeReceiver(); // a restart: no partial state
    for (let i = 0; i < 3; i++) s.sender.tick();
    await exchange(s, receiver, 30);
    expect(s.installs).toEqual([meta]);
    expect(Buffer.from(await stored(s.followerStore)).equals(Buffer.from(contents))).toBe(true);
  });

  it("waits however long the install takes, asking for news, without restarting the transfer", async () => {
    const s = await setup();
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    await exchange(s, receiver);
    expect(s.installs).toHaveLength(1);
    // The state machine restores for a long time: many timeouts pass.
    const offsets: number[] = [];
    for (let i = 0; i < 20; i++) {
      s.sender.tick();
      offsets.push(...s.toFollower.map((m) => m.offset));
      await exchange(s, receiver, 1);
    }
    expect(new Set(offsets)).toEqual(new Set([contents.length])); // only status probes
    expect(s.reports).toEqual([]);
    receiver.installed(meta);
    await exchange(s, receiver, 2);
    expect(s.reports).toEqual([true]);
    expect(s.installs).toHaveLength(1);
  });

  it("reports a snapshot the follower no longer needs as installed, without installing it", async () => {
    const s = await setup({ install: () => false });
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    await exchange(s, receiver);
    expect(s.reports).toEqual([true]);
  });

  it("abandons a transfer whose snapshot is gone from the store, reporting failure", async () => {
    const s = await setup();
    s.sender.start("b", { ...meta, index: 999, term: 9 });
    await flush();
    await flush();
    expect(s.reports).toEqual([false]);
  });

  it("abandons a transfer whose snapshot is damaged, and says which one is", async () => {
    const s = await setup({ damaged: true });
    const receiver = s.makeReceiver();
    s.sender.start("b", meta);
    await exchange(s, receiver);
    expect(s.reports).toEqual([false]);
    expect(s.damaged).toEqual([meta]);
    expect(s.installs).toEqual([]);
  });

  it("re-cuts a stream into chunks of exactly the requested size", async () => {
    async function* pieces() {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array([4]);
      yield new Uint8Array([5, 6, 7, 8, 9]);
    }
    const out: number[][] = [];
    for await (const chunk of rechunk(pieces(), 4)) out.push([...chunk]);
    expect(out).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });
});
