import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { encodeConfig } from "../config-codec.js";
import { isInconsistentStateError, isInvalidOptionsError, isSnapshotDamage } from "../errors.js";
import { type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
import type { Logger } from "../logger.js";
import { damageSnapshots } from "../test-support/damaged-snapshots.js";
import { encodeCommand, KvStateMachine } from "../testing/kv-fsm.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";
import { createMemoryNetwork } from "./memory-transport.js";
import { resolveOptions } from "./options.js";
import { recoverState } from "./startup.js";

const voters = ["n1", "n2", "n3"];
const config = { voters, learners: [] };

function options(
  parts: {
    logStore?: MemoryLogStore;
    snapshotStore?: MemorySnapshotStore;
    fsm?: KvStateMachine;
    logger?: Logger;
    voters?: string[];
  } = {},
) {
  return resolveOptions({
    id: "n1",
    voters: parts.voters ?? voters,
    logStore: parts.logStore ?? new MemoryLogStore(),
    stableStore: new MemoryStableStore(),
    snapshotStore: parts.snapshotStore ?? new MemorySnapshotStore(),
    transport: createMemoryNetwork().transport("n1"),
    fsm: parts.fsm ?? new KvStateMachine(),
    logger: parts.logger,
  });
}

async function snapshotStoreWith(meta: SnapshotMeta, state: KvStateMachine) {
  const store = new MemorySnapshotStore();
  const sink = await store.create(meta);
  for await (const chunk of state.snapshot()) await sink.write(chunk);
  await sink.commit();
  return store;
}

describe("recovering a node's state at start", () => {
  it("bootstraps a new node with the same configuration entry on every member", async () => {
    const a = await recoverState(options());
    const b = await recoverState(options({ voters: ["n3", "n1", "n2"] }));
    expect(a.bootstrapped).toBe(true);
    expect(a.storage.entries).toEqual(b.storage.entries);
    expect(a.storage.entries[0]).toMatchObject({ index: 1, term: 1, type: EntryType.Config });
    expect(a.storage.hardState.term).toBe(1);
  });

  it("refuses to bootstrap without initial voters", async () => {
    const error = await recoverState(options({ voters: [] })).catch((e: unknown) => e);
    expect(isInvalidOptionsError(error)).toBe(true);
    expect((error as Error).message).toMatch(/needs its initial voters/);
  });

  it("restores the state machine from the latest snapshot and keeps the log that continues it", async () => {
    const source = new KvStateMachine();
    source.apply(
      createEntry(2, 1, EntryType.Normal, encodeCommand({ op: "put", key: "k", value: "v" })),
    );
    const meta: SnapshotMeta = { index: 2, term: 1, config };
    const snapshotStore = await snapshotStoreWith(meta, source);
    const logStore = new MemoryLogStore();
    await logStore.append([
      createEntry(1, 1, EntryType.Config, encodeConfig(config)),
      createEntry(2, 1, EntryType.Normal, encodeCommand({ op: "put", key: "k", value: "v" })),
      createEntry(3, 1, EntryType.Normal, encodeCommand({ op: "put", key: "k", value: "w" })),
    ]);
    const fsm = new KvStateMachine();
    const state = await recoverState(options({ logStore, snapshotStore, fsm }));
    expect(fsm.get("k")).toBe("v");
    expect(state.storage.entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it("resets a log that does not continue the latest snapshot (a crash before the reset)", async () => {
    const meta: SnapshotMeta = { index: 3, term: 4, config };
    const snapshotStore = await snapshotStoreWith(meta, new KvStateMachine());
    const logStore = new MemoryLogStore();
    await logStore.append([
      createEntry(1, 1, EntryType.Config, encodeConfig(config)),
      createEntry(2, 2, EntryType.Normal, new Uint8Array([1])),
      createEntry(3, 2, EntryType.Normal, new Uint8Array([2])), // term 2, but the snapshot says 4
      createEntry(4, 2, EntryType.Normal, new Uint8Array([3])),
    ]);
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_f, m) => warnings.push(m ?? ""),
    };
    const state = await recoverState(options({ logStore, snapshotStore, logger }));
    expect(state.storage.entries).toEqual([]);
    expect(state.storage.compactedIndex).toBe(3);
    expect((await logStore.load()).compactedIndex).toBe(3);
    expect(warnings.join()).toMatch(/does not continue the latest snapshot/);
  });

  it("refuses a log compacted past the latest snapshot", async () => {
    const snapshotStore = await snapshotStoreWith(
      { index: 3, term: 1, config },
      new KvStateMachine(),
    );
    const logStore = new MemoryLogStore();
    await logStore.reset(5);
    const error = await recoverState(options({ logStore, snapshotStore })).catch((e: unknown) => e);
    expect(isInconsistentStateError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "the log is compacted through 5, past the latest snapshot at 3",
    );
  });

  it("refuses a compacted log without any snapshot", async () => {
    const logStore = new MemoryLogStore();
    await logStore.reset(7);
    const error = await recoverState(options({ logStore })).catch((e: unknown) => e);
    expect(isInconsistentStateError(error)).toBe(true);
    expect((error as Error).message).toMatch(/compacted through 7, but there is no snapshot/);
  });
});

/** A KV state machine holding k = `value`. */
function kvState(value: string): KvStateMachine {
  const state = new KvStateMachine();
  state.apply(createEntry(1, 1, EntryType.Normal, encodeCommand({ op: "put", key: "k", value })));
  return state;
}

/** `store`, but reading the snapshot at `index` fails after its first chunk, as damage does. */
const damaging = (store: MemorySnapshotStore, index: number) =>
  damageSnapshots(store, (meta) => meta.index === index);

async function storeSnapshot(
  store: MemorySnapshotStore,
  meta: SnapshotMeta,
  state: KvStateMachine,
) {
  const sink = await store.create(meta);
  for await (const chunk of state.snapshot()) await sink.write(chunk);
  await sink.commit();
}

const put = (index: number, term: number, value: string) =>
  createEntry(index, term, EntryType.Normal, encodeCommand({ op: "put", key: "k", value }));

describe("a damaged snapshot at start", () => {
  function recording() {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_f, m) => warnings.push(m ?? ""),
    };
    return { warnings, logger };
  }

  /**
   * A snapshot store holding `snapshots` ([index, term, the value of k]), the one at `damaged`
   * damaged, and a log compacted through `compacted` that holds `entries`.
   */
  async function storesWith(
    snapshots: ReadonlyArray<[number, number, string]>,
    damaged: number,
    compacted: number,
    entries: Entry[],
  ) {
    const snapshotStore = new MemorySnapshotStore({ readChunkSize: 4 });
    for (const [index, term, value] of snapshots) {
      await storeSnapshot(snapshotStore, { index, term, config }, kvState(value));
    }
    damaging(snapshotStore, damaged);
    const logStore = new MemoryLogStore();
    if (compacted > 0) await logStore.reset(compacted);
    await logStore.append(entries);
    return { snapshotStore, logStore };
  }

  it("is passed over for an older snapshot the log continues, and set aside", async () => {
    const { snapshotStore, logStore } = await storesWith(
      [
        [2, 1, "old"],
        [4, 1, "new"],
      ],
      4,
      1,
      [put(2, 1, "old"), put(3, 1, "mid"), put(4, 1, "new"), put(5, 1, "x")],
    );
    const fsm = new KvStateMachine();
    const { warnings, logger } = recording();
    const state = await recoverState(options({ logStore, snapshotStore, fsm, logger }));
    expect(fsm.get("k")).toBe("old");
    expect(state.snapshot?.index).toBe(2);
    expect(state.storage.compactedIndex).toBe(1);
    expect(state.storage.entries.map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(await snapshotStore.list()).toEqual([{ index: 2, term: 1 }]);
    expect(warnings.join("; ")).toMatch(/damaged; trying an older one.*rebuilt from an older/);
  });

  it("does not reset the log to a damaged snapshot it does not continue", async () => {
    // A snapshot received from a leader (term 3) whose log reset a crash cut short, and damaged.
    const { snapshotStore, logStore } = await storesWith(
      [
        [2, 1, "old"],
        [4, 3, "received"],
      ],
      4,
      1,
      [put(2, 1, "old"), put(3, 1, "a"), put(4, 1, "b")],
    );
    const fsm = new KvStateMachine();
    const state = await recoverState(options({ logStore, snapshotStore, fsm }));
    expect(fsm.get("k")).toBe("old");
    expect(state.storage.entries.map((e) => e.index)).toEqual([2, 3, 4]);
    expect((await logStore.load()).entries).toHaveLength(3);
  });

  it("is passed over for the whole log when the log starts at 1", async () => {
    const { snapshotStore, logStore } = await storesWith([[3, 1, "new"]], 3, 0, [
      createEntry(1, 1, EntryType.Config, encodeConfig(config)),
      put(2, 1, "a"),
      put(3, 1, "new"),
    ]);
    const fsm = new KvStateMachine();
    const { warnings, logger } = recording();
    const state = await recoverState(options({ logStore, snapshotStore, fsm, logger }));
    expect(state.snapshot).toBeUndefined();
    expect(state.bootstrapped).toBe(false);
    expect(fsm.get("k")).toBeUndefined();
    expect(state.storage.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(await snapshotStore.list()).toEqual([]);
    expect(warnings.join("; ")).toMatch(/rebuilt from the whole log/);
  });

  it("stops the start, changing nothing, when the log continues no intact snapshot", async () => {
    const { snapshotStore, logStore } = await storesWith(
      [
        [2, 1, "old"],
        [6, 1, "new"],
      ],
      6,
      4,
      [put(5, 1, "a"), put(6, 1, "new"), put(7, 1, "b")],
    );
    const fsm = new KvStateMachine();
    const error = await recoverState(options({ logStore, snapshotStore, fsm })).catch(
      (e: unknown) => e,
    );
    expect(isInconsistentStateError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^the snapshots at 6 are damaged, and the log \(compacted through 4\) continues no older one: .* at index 4 or later /,
    );
    expect(isSnapshotDamage(error)).toBe(true);
    expect(await snapshotStore.list()).toHaveLength(2);
    expect((await logStore.load()).entries).toHaveLength(3);
    expect(fsm.get("k")).toBeUndefined();
  });

  it.each([
    ["inside its log", 5, 1, [5, 6, 7]],
    ["beyond its log, which it then replaces", 9, 2, []],
  ])("starts from another member's snapshot copied in, %s", async (_, index, term, kept) => {
    const { snapshotStore, logStore } = await storesWith([[6, 1, "new"]], 6, 4, [
      put(5, 1, "a"),
      put(6, 1, "new"),
      put(7, 1, "b"),
    ]);
    expect(await recoverState(options({ logStore, snapshotStore })).catch(() => "refused")).toBe(
      "refused",
    );
    // What the refusal advises: a snapshot of another member, at index 4 or later.
    await storeSnapshot(snapshotStore, { index, term, config }, kvState("peer"));
    const fsm = new KvStateMachine();
    const state = await recoverState(options({ logStore, snapshotStore, fsm }));
    expect(fsm.get("k")).toBe("peer");
    expect(state.snapshot?.index).toBe(index);
    expect(state.storage.entries.map((e) => e.index)).toEqual(kept);
  });

  it("never passes over a snapshot the state machine refuses for another reason", async () => {
    const snapshotStore = new MemorySnapshotStore();
    await storeSnapshot(snapshotStore, { index: 2, term: 1, config }, kvState("old"));
    const sink = await snapshotStore.create({ index: 3, term: 1, config });
    await sink.write(new TextEncoder().encode("not a snapshot"));
    await sink.commit();
    const logStore = new MemoryLogStore();
    await logStore.reset(1);
    await logStore.append([put(2, 1, "old"), put(3, 1, "new")]);
    const error = await recoverState(options({ logStore, snapshotStore })).catch((e: unknown) => e);
    expect(isSnapshotDamage(error)).toBe(false);
    expect(await snapshotStore.list()).toHaveLength(2);
  });
});
