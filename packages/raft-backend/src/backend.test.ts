import { createServer, type Server, type Socket } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { IDSchema, ResourceSchema } from "@raftstore/proto";
import {
  InconsistentError,
  isCASFailureError,
  isInconsistentError,
  isInvalidArgumentError,
  isQuotaExceededError,
  isWatchClosedError,
  isWrongUidError,
  ReadConsistency,
} from "@raftstore/storage";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Backend } from "./backend.js";
import { type Handle, isNoLeaderError, NoLeaderError } from "./handle.js";
import { encodeDeleteEntry, encodeWriteEntry } from "./log-entry.js";
import { silentLogger } from "./logger.js";
import { encodeStoreSnapshot, restoreStoreSnapshot } from "./snapshot.js";
import { startFakeCluster } from "./test-support/fake-cluster.js";

const resource = (name: string, init: MessageInitShape<typeof ResourceSchema> = {}) => {
  const res = create(ResourceSchema, init);
  res.id ??= create(IDSchema, {
    uid: "u1",
    name,
    type: { group: "demo", groupVersion: "v1", kind: "Artist" },
    tenancy: { partition: "default", namespace: "default" },
  });
  return res;
};

const typeArtist = { group: "demo", kind: "Artist" };
const everywhere = { partition: "*", namespace: "*" } as never;

/** A backend whose handle is never used: for apply, snapshot and restore. */
const fsmOnly = () => new Backend(undefined, silentLogger);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("apply", () => {
  it("uses the entry's index as the new version, identically on every node", () => {
    const nodes = [fsmOnly(), fsmOnly(), fsmOnly()];
    const entries = [
      encodeWriteEntry(resource("a")),
      encodeWriteEntry(resource("a", { version: "1" })),
      encodeWriteEntry(resource("b")),
      encodeDeleteEntry(resource("b").id as never, "3"),
    ];
    for (const node of nodes) {
      for (const [i, e] of entries.entries()) node.apply(e, BigInt(i + 1));
    }
    for (const node of nodes) {
      const stored = node.store.read(resource("a").id as never);
      expect(stored.version).toBe("2");
      expect(node.store.list(typeArtist, everywhere, "")).toHaveLength(1);
    }
  });

  it("fails a stale compare-and-swap the same way everywhere, using up its index", () => {
    const nodes = [fsmOnly(), fsmOnly()];
    for (const node of nodes) {
      node.apply(encodeWriteEntry(resource("a")), 1n);
      const stale = node.apply(encodeWriteEntry(resource("a", { version: "9" })), 2n);
      expect(isCASFailureError(stale)).toBe(true);
      const wrongUid = node.apply(
        encodeWriteEntry(
          resource("a", { version: "1", id: { ...resource("a").id, uid: "u2" } as never }),
        ),
        3n,
      );
      expect(isWrongUidError(wrongUid)).toBe(true);
      const next = node.apply(encodeWriteEntry(resource("a", { version: "1" })), 4n);
      expect(next).not.toBeInstanceOf(Error);
      expect(node.store.read(resource("a").id as never).version).toBe("4");
    }
  });

  it("stores a copy of the entry's bytes, not a view of the buffer the entry was read from", () => {
    // Entries come from WAL reads and transport frames as Buffer views; a decoded bytes field
    // is a view of its input (protobuf-es and fromBinaryFast alike). Reusing or overwriting that
    // buffer must not change, or keep alive, a stored resource.
    const node = fsmOnly();
    const entry = encodeWriteEntry(
      resource("a", { data: { typeUrl: "t", value: new Uint8Array([1, 2, 3]) } }),
    );
    const readBuffer = Buffer.alloc(entry.byteLength + 16, 0xee);
    readBuffer.set(entry, 8);
    expect(node.apply(readBuffer.subarray(8, 8 + entry.byteLength), 1n)).not.toBeInstanceOf(Error);
    readBuffer.fill(0);
    const stored = node.store.read(resource("a").id as never);
    expect(Array.from(stored.data?.value ?? [])).toEqual([1, 2, 3]);
    expect(stored.data?.value.buffer).not.toBe(readBuffer.buffer);
  });

  it("answers a malformed entry with an error and keeps applying", () => {
    const node = fsmOnly();
    const garbage = node.apply(new Uint8Array([0xff, 0xff, 0xff]), 1n);
    expect(garbage).toBeInstanceOf(Error);
    expect((garbage as Error).name).toBe("MalformedEntryError");
    const empty = node.apply(new Uint8Array(), 2n);
    expect((empty as Error).name).toBe("MalformedEntryError");
    const invalid = node.apply(encodeWriteEntry(resource("")), 3n);
    expect((invalid as Error).name).toBe("InvalidArgumentError");
    expect(node.apply(encodeWriteEntry(resource("a")), 4n)).not.toBeInstanceOf(Error);
  });
});

describe("snapshot and restore", () => {
  it("round-trip through the codec into a fresh backend and end its watches", async () => {
    const source = fsmOnly();
    for (let i = 1; i <= 50; i++) source.apply(encodeWriteEntry(resource(`r${i}`)), BigInt(i));
    const chunks = encodeStoreSnapshot(source.store, { index: 50n, term: 3n });
    // Writes after the snapshot was taken are not in it.
    source.apply(encodeWriteEntry(resource("late")), 51n);

    const target = fsmOnly();
    target.apply(encodeWriteEntry(resource("doomed")), 1n);
    const watch = await target.watchList(typeArtist, everywhere, "");
    expect((await watch.next()).event.case).toBe("upsert");
    expect((await watch.next()).event.case).toBe("endOfSnapshot");

    const { count } = await restoreStoreSnapshot(target.store, chunks);
    expect(count).toBe(50);
    await expect(watch.next()).rejects.toSatisfy(isWatchClosedError);
    const restored = await target.list(ReadConsistency.Eventual, typeArtist, everywhere, "");
    expect(restored.map((r) => r.id?.name).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `r${i + 1}`).sort(),
    );
    expect(restored.find((r) => r.id?.name === "r7")?.version).toBe("7");
  });

  it("keeps the store and its watches when the snapshot is damaged", async () => {
    const source = fsmOnly();
    source.apply(encodeWriteEntry(resource("a")), 1n);
    const bytes: Uint8Array[] = [];
    for await (const chunk of encodeStoreSnapshot(source.store, { index: 1n, term: 1n })) {
      bytes.push(chunk);
    }
    const whole = Buffer.concat(bytes);
    whole[whole.length - 3] ^= 0xff;

    const target = fsmOnly();
    target.apply(encodeWriteEntry(resource("kept")), 1n);
    const watch = await target.watchList(typeArtist, everywhere, "");
    await expect(restoreStoreSnapshot(target.store, [whole])).rejects.toThrow();
    expect(target.store.read(resource("kept").id as never).id?.name).toBe("kept");
    expect((await watch.next()).event.case).toBe("upsert");
  });

  it("restores copies of a record's bytes, not views of the record's buffer", () => {
    const node = fsmOnly();
    node.apply(
      encodeWriteEntry(resource("a", { data: { typeUrl: "t", value: new Uint8Array([4, 5]) } })),
      1n,
    );
    const record = node.snapshot().next() as Uint8Array;
    const held = Buffer.from(record);
    const copy = fsmOnly();
    const restoration = copy.restore();
    restoration.apply(held);
    held.fill(0);
    restoration.commit();
    const restored = copy.store.read(resource("a").id as never);
    expect(Array.from(restored.data?.value ?? [])).toEqual([4, 5]);
  });

  it("exposes Consul's record iteration: protobuf resources, then null", () => {
    const node = fsmOnly();
    node.apply(encodeWriteEntry(resource("a")), 1n);
    node.apply(encodeWriteEntry(resource("b")), 2n);
    const snapshot = node.snapshot();
    const records = [snapshot.next(), snapshot.next(), snapshot.next()];
    expect(records[0]).toBeInstanceOf(Uint8Array);
    expect(records[2]).toBeNull();

    const copy = fsmOnly();
    const restoration = copy.restore();
    for (const record of records.slice(0, 2)) restoration.apply(record as Uint8Array);
    restoration.commit();
    restoration.abort();
    expect(copy.store.read(resource("b").id as never).version).toBe("2");
  });
});

describe("forwarding", () => {
  async function listen(
    onSocket: (socket: Socket) => void,
  ): Promise<{ server: Server; url: string }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      onSocket(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { server, url: `http://127.0.0.1:${address.port}` };
  }

  function follower(dialLeader: () => ReturnType<Handle["dialLeader"]>) {
    const handle: Handle = {
      apply: async () => {
        throw new InconsistentError("not the leader");
      },
      isLeader: () => false,
      ensureStrongConsistency: async () => {
        throw new InconsistentError("not the leader");
      },
      dialLeader,
    };
    return new Backend(handle, silentLogger, { forwardingTimeoutMs: 2000 });
  }

  it("fails with InconsistentError when no leader is known", async () => {
    const node = follower(() => {
      throw new Error("leader unknown");
    });
    const error = await node.writeCAS(resource("a")).catch((e: unknown) => e);
    expect(isInconsistentError(error)).toBe(true);
    await expect(node.read(ReadConsistency.Strong, resource("a").id as never)).rejects.toSatisfy(
      isInconsistentError,
    );
  });

  it("fails with InconsistentError, not a hang, when the leader dies mid-request", async () => {
    // A "leader" that accepts the connection and then drops it without answering.
    const { url } = await listen((socket) => {
      socket.once("data", () => socket.destroy());
    });
    const sessions = new Http2SessionManager(url);
    cleanups.push(() => sessions.abort());
    const node = follower(() => createGrpcTransport({ baseUrl: url, sessionManager: sessions }));
    const error = await node.writeCAS(resource("a")).catch((e: unknown) => e);
    expect(isInconsistentError(error)).toBe(true);
  });

  it("fails with InconsistentError when the leader stops answering", async () => {
    const { url } = await listen(() => {
      // Accept and never speak: a partitioned or frozen leader.
    });
    const sessions = new Http2SessionManager(url);
    cleanups.push(() => sessions.abort());
    const node = follower(() => createGrpcTransport({ baseUrl: url, sessionManager: sessions }));
    const error = await node.writeCAS(resource("a")).catch((e: unknown) => e);
    expect(isInconsistentError(error)).toBe(true);
  });

  /** The handle of a node that no longer leads: it refuses everything, and knows no leader. */
  const exLeaderHandle: Handle = {
    apply: async () => {
      throw new InconsistentError("leadership lost");
    },
    isLeader: () => false,
    ensureStrongConsistency: async () => {
      throw new InconsistentError("leadership lost");
    },
    dialLeader: () => {
      throw new InconsistentError("leader unknown");
    },
  };

  /**
   * An old leader (no longer leading; with `oldIsDead`, gone: its port refuses connections) and
   * a new one, each serving forwarding on loopback. `dial()` is a transport to the one `target`
   * names (0: old, 1: new), for a follower's `dialLeader`; `stop()` ends both.
   */
  async function oldAndNewLeader({ oldIsDead = false } = {}) {
    const oldLeader = new Backend(exLeaderHandle, silentLogger);
    let applied = 0n;
    let newLeader: Backend;
    newLeader = new Backend(
      {
        apply: async (msg) => newLeader.apply(msg, ++applied),
        isLeader: () => true,
        ensureStrongConsistency: async () => {},
        dialLeader: () => {
          throw new InconsistentError("I am the leader");
        },
      },
      silentLogger,
    );
    const old = await listen((socket) => oldLeader.handleConnection(socket));
    if (oldIsDead) await new Promise<void>((resolve) => old.server.close(() => resolve()));
    const current = await listen((socket) => newLeader.handleConnection(socket));
    const sessions = [new Http2SessionManager(old.url), new Http2SessionManager(current.url)];
    cleanups.push(() => {
      for (const s of sessions) s.abort();
    });
    const leaders = {
      target: 0,
      dial: () =>
        createGrpcTransport({
          baseUrl: [old.url, current.url][leaders.target] as string,
          sessionManager: sessions[leaders.target],
        }),
      async stop() {
        const stop = new AbortController();
        stop.abort();
        await Promise.all([oldLeader.run(stop.signal), newLeader.run(stop.signal)]);
      },
    };
    return leaders;
  }

  it("re-dials after leaderChanged() and reaches the new leader", async () => {
    const leaders = await oldAndNewLeader();
    const node = follower(leaders.dial);
    // The old leader lost leadership between the follower's dial and its request.
    await expect(node.writeCAS(resource("a"))).rejects.toSatisfy(isInconsistentError);
    leaders.target = 1;
    node.leaderChanged();
    const written = await node.writeCAS(resource("a"));
    expect(written.version).toBe("1");
    await leaders.stop();
  });

  /** A follower with the hold on, which believes in the old leader until it first waits. */
  function heldFollower(leaders: Awaited<ReturnType<typeof oldAndNewLeader>>) {
    const waits: number[] = [];
    const node: Backend = new Backend(
      {
        ...exLeaderHandle,
        dialLeader: leaders.dial,
        awaitLeader: async () => {
          waits.push(leaders.target);
          if (leaders.target === 0) {
            leaders.target = 1;
            node.leaderChanged();
          }
          return true;
        },
      },
      silentLogger,
      { forwardingTimeoutMs: 2000, leaderHoldMs: 5000 },
    );
    return { node, waits };
  }

  it("holds a write an old leader refused for no longer leading (it did nothing), and makes it on the new one", async () => {
    const leaders = await oldAndNewLeader();
    const { node, waits } = heldFollower(leaders);
    const written = await node.writeCAS(resource("a"));
    expect(written.version).toBe("1");
    expect(waits).toEqual([0]);
    await leaders.stop();
  });

  it("holds a write whose leader's address refused the connection (it died: nothing was sent), and makes it on the new one", async () => {
    const leaders = await oldAndNewLeader({ oldIsDead: true });
    const { node, waits } = heldFollower(leaders);
    const written = await node.writeCAS(resource("a"));
    expect(written.version).toBe("1");
    expect(waits).toEqual([0]);
    await leaders.stop();
  });
});

describe("quotaBytes", () => {
  const blob = (bytes: number) => ({
    data: { typeUrl: "demo/blob", value: new Uint8Array(bytes) },
  });

  it("refuses a write that would grow the store past it, on the leader and through either kind of follower, and changes nothing", async () => {
    const cluster = await startFakeCluster({ maxLagMs: 0, backendOptions: { quotaBytes: 10_000 } });
    cleanups.push(() => cluster.close());
    const { leader, follower, localFollower } = cluster;
    await leader.writeCAS(resource("a", blob(4000)));
    await cluster.caughtUp();
    const before = leader.store.bytes;
    for (const node of [leader, follower, localFollower]) {
      // 4,000 + 5,000 bytes of data, and 700 of overhead each: past 10,000.
      const error = await node.writeCAS(resource("b", blob(5000))).catch((e: unknown) => e);
      expect(isQuotaExceededError(error), String(error)).toBe(true);
      expect((error as Error).message).toContain(
        "past its quota of 0.0 MiB (10000 bytes) (it holds 0.0 MiB",
      );
      expect((error as Error).message).toContain("Delete resources that are no longer needed");
      const overwrite = await node.overwrite(resource("a", blob(9600))).catch((e: unknown) => e);
      expect(isQuotaExceededError(overwrite), String(overwrite)).toBe(true);
    }
    await cluster.caughtUp();
    for (const node of [leader, follower, localFollower]) {
      expect(node.store.size).toBe(1);
      expect(node.store.bytes).toBe(before);
    }
  });

  it("lets through, even over it, deletes and writes that do not grow the store", async () => {
    const cluster = await startFakeCluster({ maxLagMs: 0, backendOptions: { quotaBytes: 5_000 } });
    cleanups.push(() => cluster.close());
    const { leader, follower } = cluster;
    // A snapshot installed, or a quota lowered at a restart, can leave the store over it.
    // (Versions beyond the fake log's indexes, which start again at 1.)
    const big = Object.assign(resource("a", blob(8000)), { version: "100" });
    const other = Object.assign(resource("b", blob(10)), { version: "101" });
    await cluster.restore([big, other]);
    expect(leader.store.bytes).toBeGreaterThan(5_000);
    const same = await follower.writeCAS(resource("a", { version: "100", ...blob(8000) }));
    const grows = await follower.overwrite(resource("b", blob(100))).catch((e: unknown) => e);
    expect(isQuotaExceededError(grows), String(grows)).toBe(true);
    const smaller = await follower.overwrite(resource("a", blob(2000)));
    // The refused write was never proposed: it used up no index.
    expect(Number(smaller.version)).toBe(Number(same.version) + 1);
    await follower.deleteCAS(smaller.id as never, smaller.version);
    await cluster.caughtUp();
    expect(leader.store.bytes).toBeLessThan(5_000);
    // Under it again, the store takes what fits.
    await follower.overwrite(resource("b", blob(100)));
  });

  it("must be a positive integer of bytes", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let refusal: unknown;
      try {
        new Backend(undefined, silentLogger, { quotaBytes: bad });
      } catch (error) {
        refusal = error;
      }
      expect(isInvalidArgumentError(refusal), String(bad)).toBe(true);
      expect((refusal as { field?: string }).field).toBe("options.quotaBytes");
    }
  });
});

describe("a follower whose engine reaches the leader itself (servesLocally)", () => {
  it("proposes writes and deletes, and confirms strong reads, through its own engine, answering from its own store and never dialing the leader", async () => {
    let index = 0n;
    let proposed = 0;
    let confirmed = 0;
    let dialed = 0;
    const node: Backend = new Backend(
      {
        apply: async (msg) => {
          proposed++;
          return node.apply(msg, ++index);
        },
        isLeader: () => false,
        servesLocally: () => true,
        ensureStrongConsistency: async () => {
          confirmed++;
        },
        dialLeader: () => {
          dialed++;
          throw new InconsistentError("must not forward");
        },
      },
      silentLogger,
    );
    const written = await node.writeCAS(resource("a"));
    expect(written.version).toBe("1");
    expect((await node.read(ReadConsistency.Strong, written.id as never)).version).toBe("1");
    const listed = await node.list(ReadConsistency.Strong, typeArtist, everywhere, "");
    expect(listed.map((r) => r.version)).toEqual(["1"]);
    await node.deleteCAS(written.id as never, written.version);
    await expect(node.read(ReadConsistency.Strong, written.id as never)).rejects.toThrow();
    expect(proposed).toBe(2);
    expect(confirmed).toBe(3);
    expect(dialed).toBe(0);
  });

  it("forwards writes and strong reads to the leader's ForwardingService while it cannot serve them", async () => {
    let dialed = 0;
    const node = new Backend(
      {
        apply: async () => {
          throw new Error("must not propose");
        },
        isLeader: () => false,
        servesLocally: () => false,
        ensureStrongConsistency: async () => {
          throw new Error("must not confirm here");
        },
        dialLeader: () => {
          dialed++;
          throw new InconsistentError("no leader is known right now; retry");
        },
      },
      silentLogger,
    );
    await expect(node.writeCAS(resource("a"))).rejects.toSatisfy(isInconsistentError);
    await expect(node.deleteCAS(resource("a").id as never, "1")).rejects.toSatisfy(
      isInconsistentError,
    );
    expect(dialed).toBe(2);
  });

  it("answers a strong read only once it applied what the leader had when the read began", async () => {
    const cluster = await startFakeCluster({ maxLagMs: 100, seed: 7 });
    cleanups.push(() => cluster.close());
    const written = await cluster.leader.writeCAS(resource("a"));
    const id = written.id as never;
    // Not replicated yet: the follower's own copy does not have it…
    await expect(cluster.localFollower.read(ReadConsistency.Eventual, id)).rejects.toThrow();
    // …and a strong read waits for it rather than answer from the stale copy.
    expect((await cluster.localFollower.read(ReadConsistency.Strong, id)).version).toBe(
      written.version,
    );
    const listed = await cluster.localFollower.list(
      ReadConsistency.Strong,
      typeArtist,
      everywhere,
      "",
    );
    expect(listed.map((r) => r.version)).toEqual([written.version]);
  });
});

describe("holding a call through an election (leaderHoldMs)", () => {
  /**
   * A node that serves locally and whose engine refuses with `refusal()` until `elect()`; then
   * it applies at the next index. Its `awaitLeader` resolves on `elect()`, as the server's does
   * on a leader change; `awaitLeader: "known"` resolves at once (a leader is known, yet it
   * refuses: it stepped down since), and `"none"` leaves it out.
   */
  function leaderless(
    refusal: () => Error,
    options: { awaitLeader?: "wait" | "known" | "none" } = {},
  ) {
    let leader = false;
    let electedNow: () => void = () => {};
    const elected = new Promise<void>((resolve) => {
      electedNow = resolve;
    });
    let index = 0n;
    const calls = { apply: 0, read: 0, awaitLeader: 0 };
    let backend: Backend;
    const handle: Handle = {
      async apply(msg) {
        calls.apply++;
        if (!leader) throw refusal();
        return backend.apply(msg, ++index);
      },
      isLeader: () => leader,
      servesLocally: () => true,
      async ensureStrongConsistency() {
        calls.read++;
        if (!leader) throw refusal();
      },
      dialLeader: () => {
        throw new Error("never dialed");
      },
    };
    const mode = options.awaitLeader ?? "wait";
    if (mode !== "none") {
      handle.awaitLeader = async ({ timeoutMs, signal }) => {
        calls.awaitLeader++;
        if (leader || mode === "known") return true;
        let timer: NodeJS.Timeout | undefined;
        const found = await Promise.race([
          elected.then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), timeoutMs);
            signal?.addEventListener("abort", () => resolve(false), { once: true });
          }),
        ]);
        clearTimeout(timer);
        return found;
      };
    }
    return {
      calls,
      make(holdMs?: number) {
        backend = new Backend(handle, silentLogger, { leaderHoldMs: holdMs });
        return backend;
      },
      elect() {
        leader = true;
        electedNow();
      },
    };
  }

  const noLeader = () => new NoLeaderError("no leader is known right now; retry");

  it("makes a write, a delete and a strong read again once a leader is known, and answers them", async () => {
    const node = leaderless(noLeader);
    const backend = node.make();
    const write = backend.writeCAS(resource("a"));
    const read = backend.read(ReadConsistency.Strong, resource("a").id as never).catch((e) => e);
    await new Promise((r) => setTimeout(r, 30));
    expect(node.calls).toMatchObject({ apply: 1, read: 1 });
    node.elect();
    const written = await write;
    expect(written.version).toBe("1");
    // The read began before the write was applied: either answer is linearizable.
    const answer = await read;
    expect(answer instanceof Error ? answer.name : answer.version).toMatch(/NotFoundError|^1$/);
    await backend.deleteCAS(written.id as never, written.version);
    expect(node.calls).toMatchObject({ apply: 3, read: 2 });
  });

  it("never repeats a call that may have taken effect", async () => {
    const node = leaderless(() => new InconsistentError("term 3 ended before the entry committed"));
    const backend = node.make();
    await expect(backend.writeCAS(resource("a"))).rejects.toSatisfy(isInconsistentError);
    expect(node.calls).toMatchObject({ apply: 1, awaitLeader: 0 });
  });

  it("gives up with the call's own error when no leader comes within the hold", async () => {
    const node = leaderless(noLeader);
    const backend = node.make(150);
    const started = performance.now();
    const error = await backend.writeCAS(resource("a")).catch((e: unknown) => e);
    expect(isNoLeaderError(error) && isInconsistentError(error)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("ends a held call with its abort reason as soon as the caller gives up", async () => {
    const node = leaderless(noLeader);
    const backend = node.make(10_000);
    const controller = new AbortController();
    const write = backend.writeCAS(resource("a"), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller left")), 20);
    await expect(write).rejects.toThrow("caller left");
  });

  it("fails at once with the hold off, or when the handle cannot wait for a leader", async () => {
    const off = leaderless(noLeader);
    await expect(off.make(0).writeCAS(resource("a"))).rejects.toSatisfy(isNoLeaderError);
    const cannotWait = leaderless(noLeader, { awaitLeader: "none" });
    await expect(cannotWait.make(10_000).writeCAS(resource("a"))).rejects.toSatisfy(
      isNoLeaderError,
    );
    expect([off.calls.apply, cannotWait.calls.apply]).toEqual([1, 1]);
  });

  it("keeps pausing half a second between tries however long the hold, never spinning", async () => {
    vi.useFakeTimers();
    try {
      const node = leaderless(noLeader, { awaitLeader: "known" });
      const write = node
        .make(60 * 60_000)
        .writeCAS(resource("a"))
        .catch((e: unknown) => e);
      // An hour of holding: about 7,200 tries at 500 ms, not millions.
      await vi.advanceTimersByTimeAsync(60 * 60_000 + 1000);
      expect(isNoLeaderError(await write)).toBe(true);
      expect(node.calls.apply).toBeGreaterThan(7000);
      expect(node.calls.apply).toBeLessThan(7300);
    } finally {
      vi.useRealTimers();
    }
  });

  it("pauses, longer each time, while a known leader keeps refusing, instead of spinning", async () => {
    const node = leaderless(noLeader, { awaitLeader: "known" });
    const error = await node
      .make(400)
      .writeCAS(resource("a"))
      .catch((e: unknown) => e);
    expect(isNoLeaderError(error)).toBe(true);
    // Pauses of 20, 40, 80, 160 ms fill the 400 ms: a handful of tries, not thousands.
    expect(node.calls.apply).toBeGreaterThanOrEqual(3);
    expect(node.calls.apply).toBeLessThanOrEqual(8);
  });
});
