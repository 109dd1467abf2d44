import { createServer, type Server } from "node:net";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { Resource } from "@raftstore/proto";
import { InconsistentError } from "@raftstore/storage";
import { Backend, type BackendOptions } from "../backend.js";
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
  /** A follower that forwards writes and strong reads to the leader's ForwardingService. */
  follower: Backend;
  /**
   * A follower whose engine reaches the leader itself (`servesLocally`): a write is appended
   * at the leader and resolves with this follower's own apply of it; a strong read waits until
   * this follower applied everything the leader had when the read began (ReadIndex).
   */
  localFollower: Backend;
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
  /** The options of every node's Backend. */
  backendOptions?: BackendOptions;
}

/**
 * Consul's Raft conformance harness, in our terms: a leader whose handle applies every entry
 * synchronously at the next index, and followers fed from queues with random lag. One follower
 * forwards over a real loopback socket into the leader's `handleConnection`; the other
 * proposes and confirms reads through its (fake) engine, as etcd's followers do.
 */
export async function startFakeCluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const maxLagMs = options.maxLagMs ?? 50;
  const random = prng(options.seed ?? 1);
  let lastIndex = 0n;
  let closed = false;

  let leader: Backend;
  const replicas: Replica[] = [];
  const append = (msg: Uint8Array) => {
    const index = ++lastIndex;
    const response = leader.apply(msg, index);
    for (const replica of replicas) replica.queue.push({ index, msg });
    return { index, response };
  };
  const leaderHandle: Handle = {
    async apply(msg) {
      return append(msg).response;
    },
    isLeader: () => true,
    ensureStrongConsistency: async () => {},
    dialLeader: () => {
      throw new InconsistentError("the leader does not forward");
    },
  };
  leader = new Backend(leaderHandle, silentLogger, options.backendOptions);

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
  const follower = new Backend(followerHandle, silentLogger, options.backendOptions);
  follower.leaderChanged();
  replicas.push(new Replica(follower));

  let local: Replica;
  const localHandle: Handle = {
    async apply(msg) {
      const { index } = append(msg);
      return local.appliedAt(index);
    },
    isLeader: () => false,
    servesLocally: () => true,
    ensureStrongConsistency: async () => {
      await local.caughtUpTo(lastIndex);
    },
    dialLeader: () => {
      throw new InconsistentError("this follower never forwards");
    },
  };
  const localFollower = new Backend(localHandle, silentLogger, options.backendOptions);
  local = new Replica(localFollower);
  replicas.push(local);

  // The replicators: each applies at most one queued entry per tick of random length.
  const timers = new Set<NodeJS.Timeout>();
  for (const replica of replicas) {
    const replicate = () => {
      if (closed) return;
      replica.applyNext();
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          replicate();
        },
        Math.floor(random() * (maxLagMs + 1)),
      );
      timers.add(timer);
    };
    replicate();
  }

  return {
    leader,
    follower,
    localFollower,
    async restore(resources) {
      for (const backend of [leader, follower, localFollower]) {
        const restoration = backend.store.restore();
        for (const r of resources) restoration.apply(r);
        restoration.commit();
      }
    },
    async caughtUp() {
      for (const replica of replicas) await replica.caughtUpTo(lastIndex);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      sessions.abort();
      const abort = new AbortController();
      abort.abort();
      await Promise.all(
        [leader, follower, localFollower].map((backend) => backend.run(abort.signal)),
      );
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A follower's copy of the log: entries still to apply, and callers waiting for an index. */
class Replica {
  readonly queue: Array<{ index: bigint; msg: Uint8Array }> = [];
  applied = 0n;
  private waiters: Array<{ index: bigint; resolve: (response: unknown) => void }> = [];

  constructor(private readonly backend: Backend) {}

  applyNext(): void {
    const next = this.queue.shift();
    if (next === undefined) return;
    const response = this.backend.apply(next.msg, next.index);
    this.applied = next.index;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.index === next.index) waiter.resolve(response);
      else if (waiter.index < next.index) waiter.resolve(undefined);
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** This follower's apply response for `index`, once it applied it. */
  appliedAt(index: bigint): Promise<unknown> {
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }

  async caughtUpTo(index: bigint): Promise<void> {
    while (this.applied < index) await new Promise((r) => setTimeout(r, 5));
  }
}
