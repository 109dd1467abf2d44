import { describe, expect, it } from "vitest";
import type { Entry, SnapshotMeta } from "../log-types.js";
import type { FSM, SnapshotSink } from "../stores.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";
import { createMemoryNetwork } from "./memory-transport.js";
import { createRaftNode } from "./node.js";

/**
 * A state machine written the natural way, with an async generator for `snapshot`: its body,
 * and so the capture of the state, runs only when the stream is first read.
 */
class LazyCounter implements FSM {
  lastIndex = 0;

  apply(entry: Entry): number {
    this.lastIndex = entry.index;
    return this.lastIndex;
  }

  async *snapshot(): AsyncIterable<Uint8Array> {
    yield new TextEncoder().encode(String(this.lastIndex));
  }

  async restore(contents: AsyncIterable<Uint8Array>): Promise<void> {
    let text = "";
    for await (const chunk of contents) text += new TextDecoder().decode(chunk);
    this.lastIndex = Number(text);
  }
}

/** A snapshot store whose `create` waits until the test lets it go. */
class GatedSnapshotStore extends MemorySnapshotStore {
  private release: (() => void) | undefined;
  readonly entered: Promise<void>;
  private enter: () => void = () => {};

  constructor() {
    super();
    this.entered = new Promise((resolve) => {
      this.enter = resolve;
    });
  }

  override async create(meta: SnapshotMeta): Promise<SnapshotSink> {
    this.enter();
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    return super.create(meta);
  }

  open_(): void {
    this.release?.();
  }
}

describe("taking a snapshot", () => {
  it("captures the state at the snapshot's index even when the state machine captures lazily and entries apply while the store is slow", async () => {
    const fsm = new LazyCounter();
    const snapshotStore = new GatedSnapshotStore();
    const node = createRaftNode({
      id: "solo",
      voters: ["solo"],
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore,
      transport: createMemoryNetwork().transport("solo"),
      fsm,
      tickIntervalMs: 10,
    });
    await node.start();
    while (node.state !== "leader") await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 3; i++) await node.apply(new Uint8Array([i]));
    const taking = node.snapshot();
    await snapshotStore.entered;
    // Applied while the snapshot store has not even created the file yet.
    for (let i = 0; i < 2; i++) await node.apply(new Uint8Array([i]));
    snapshotStore.open_();
    const meta = await taking;
    const source = await snapshotStore.open(meta);
    let text = "";
    for await (const chunk of source?.read() ?? []) text += new TextDecoder().decode(chunk);
    expect(Number(text)).toBe(meta.index);
    expect(fsm.lastIndex).toBe(meta.index + 2);
    await node.shutdown();
  });
});
