import { createServer, type Server } from "node:net";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { Resource } from "@raftstore/proto";
import { InconsistentError } from "@raftstore/storage";
import { Backend } from "../backend.js";
import type { Handle } from "../handle.js";
import { silentLogger } from "../logger.js";

/** A seeded PRNG (mulberry32), so that replication lag is reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeCluster {
  leader: Backend;
  follower: Backend;
  /** Replaces the content of both nodes, as a snapshot install on every node would. */
  restore(resources: Resource[]): Promise<void>;
  /** Waits until the follower has applied everything the leader applied. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export interface FakeClusterOptions {
  /** Longest replication lag per entry, in ms (uniform in [0, maxLagMs]). Default 50. */
  maxLagMs?: number;
  seed?: number;
}

/**
 * Consul's Raft conformance harness, in our terms: a leader whose handle applies every entry
 * synchronously at the next index, and a follower fed from a queue with random lag. The
 * follower forwards over a real loopback socket into the leader's `handleConnection`.
 */
export async function startFakeCluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const maxLagMs = options.maxLagMs ?? 50;
  const random = prng(options.seed ?? 1);
  const queue: Array<{ index: bigint; msg: Uint8Array }> = [];
  let lastIndex = 0n;
  let appliedByFollower = 0n;
  let closed = false;

  let leader: Backend;
  const leaderHandle: Handle = {
    async apply(msg) {
      const index = ++lastIndex;
      const response = leader.apply(msg, index);
      queue.push({ index, msg });
      return response;
    },
    isLeader: () => true,
    ensureStrongConsistency: async () => {},
    dialLeader: () => {
      throw new InconsistentError("the leader does not forward");
    },
  };
  leader = new Backend(leaderHandle, silentLogger);

  const server: Server = createServer((socket) => leader.handleConnection(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const sessions = new Http2SessionManager(baseUrl);

  const followerHandle: Handle = {
    apply: async () => {
      throw new InconsistentError("not the leader");
    },
    isLeader: () => false,
    ensureStrongConsistency: async () => {
      throw new InconsistentError("not the leader");
    },
    dialLeader: () => createGrpcTransport({ baseUrl, sessionManager: sessions }),
  };
  const follower = new Backend(followerHandle, silentLogger);
  follower.leaderChanged();

  // The replicator: applies at most one queued entry per tick of random length.
  let timer: NodeJS.Timeout | undefined;
  const replicate = () => {
    timer = undefined;
    if (closed) return;
    const next = queue.shift();
    if (next !== undefined) {
      follower.apply(next.msg, next.index);
      appliedByFollower = next.index;
    }
    timer = setTimeout(replicate, Math.floor(random() * (maxLagMs + 1)));
  };
  replicate();

  return {
    leader,
    follower,
    async restore(resources) {
      for (const backend of [leader, follower]) {
        const restoration = backend.store.restore();
        for (const r of resources) restoration.apply(r);
        restoration.commit();
      }
    },
    async caughtUp() {
      while (appliedByFollower < lastIndex) await new Promise((r) => setTimeout(r, 5));
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      sessions.abort();
      const abort = new AbortController();
      abort.abort();
      await Promise.all([leader.run(abort.signal), follower.run(abort.signal)]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
