import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { EntryType } from "../log-types.js";
import type { Message } from "../messages.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";
import { createMemoryNetwork } from "./memory-transport.js";

const entry = (index: number) => createEntry(index, 1, EntryType.Normal, new Uint8Array([index]));
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("the in-memory log store", () => {
  it("appends contiguously, truncates, compacts and resets", async () => {
    const store = new MemoryLogStore();
    await store.append([entry(1), entry(2), entry(3), entry(4)]);
    await store.truncateAfter(3);
    await store.compact(1);
    expect(await store.load()).toMatchObject({
      compactedIndex: 1,
      entries: [{ index: 2 }, { index: 3 }],
    });
    await store.reset(10);
    await store.append([entry(11)]);
    expect(await store.load()).toMatchObject({ compactedIndex: 10, entries: [{ index: 11 }] });
  });

  it("rejects an append that leaves a gap, saying which index it expected", async () => {
    const store = new MemoryLogStore();
    await store.append([entry(1)]);
    await expect(store.append([entry(3)])).rejects.toThrow(
      "expected an append starting at index 2, found 3",
    );
  });

  it("refuses calls once closed", async () => {
    const store = new MemoryLogStore();
    await store.close();
    await expect(store.load()).rejects.toThrow(/closed/);
  });
});

describe("the in-memory stable store", () => {
  it("starts at term 0 with no vote, and returns what was saved", async () => {
    const store = new MemoryStableStore();
    expect(await store.load()).toEqual({ term: 0, vote: "" });
    await store.save({ term: 3, vote: "n2" });
    expect(await store.load()).toEqual({ term: 3, vote: "n2" });
  });
});

describe("the in-memory snapshot store", () => {
  const config = { voters: ["n1"], learners: [] };

  it("keeps the newest snapshots, reads from an offset, and hides what is not committed", async () => {
    const store = new MemorySnapshotStore({ retain: 2, readChunkSize: 3 });
    for (const index of [1, 2, 3]) {
      const sink = await store.create({ index, term: 1, config });
      await sink.write(new Uint8Array([0, 1, 2, 3, 4].map((i) => index * 10 + i)));
      expect(await sink.commit()).toBe(5);
    }
    const aborted = await store.create({ index: 4, term: 1, config });
    await aborted.write(new Uint8Array([9]));
    await aborted.abort();
    expect((await store.latest())?.index).toBe(3);
    expect(await store.open({ index: 1, term: 1 })).toBeUndefined();
    const source = await store.open({ index: 2, term: 1 });
    const chunks: number[][] = [];
    for await (const chunk of source?.read(1) ?? []) chunks.push([...chunk]);
    expect(chunks).toEqual([[21, 22, 23], [24]]);
    expect(await store.list()).toEqual([
      { index: 3, term: 1 },
      { index: 2, term: 1 },
    ]);
  });

  it("sets a snapshot aside: no later call lists or opens it", async () => {
    const store = new MemorySnapshotStore();
    for (const index of [1, 2]) await (await store.create({ index, term: 1, config })).commit();
    await store.setAside({ index: 2, term: 1 });
    await store.setAside({ index: 7, term: 1 });
    expect(await store.list()).toEqual([{ index: 1, term: 1 }]);
    expect((await store.latest())?.index).toBe(1);
    expect(await store.open({ index: 2, term: 1 })).toBeUndefined();
  });
});

describe("the in-memory network", () => {
  const message = (from: string, to: string): Message => ({
    type: "heartbeat",
    from,
    to,
    term: 1,
    commit: 0,
    context: 0,
  });

  it("delivers asynchronously, in order, and drops messages on cut links", async () => {
    const network = createMemoryNetwork();
    const received: string[] = [];
    const a = network.transport("a");
    const b = network.transport("b");
    a.start({ onMessage: () => {}, onUnreachable: () => {} });
    b.start({ onMessage: (m) => received.push(`${m.from}:${m.type}`), onUnreachable: () => {} });
    a.send(message("a", "b"));
    a.send({ ...message("a", "b"), type: "timeoutNow" } as Message);
    expect(received).toEqual([]);
    await flush();
    expect(received).toEqual(["a:heartbeat", "a:timeoutNow"]);
    network.cut("a", "b");
    a.send(message("a", "b"));
    await flush();
    expect(received).toHaveLength(2);
    network.heal();
    a.send(message("a", "b"));
    await flush();
    expect(received).toHaveLength(3);
  });

  it("reports a node that is not connected as unreachable", async () => {
    const network = createMemoryNetwork();
    const unreachable: string[] = [];
    const a = network.transport("a");
    a.start({ onMessage: () => {}, onUnreachable: (peer) => unreachable.push(peer) });
    a.send(message("a", "ghost"));
    await flush();
    expect(unreachable).toEqual(["ghost"]);
  });
});
