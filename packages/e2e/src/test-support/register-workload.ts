import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { HistoryRecorder, type KvInput, type KvOutput } from "@raftstore/linearizability";
import { ReadConsistency, ResourceService, type Type } from "@raftstore/proto";
import { createPrng, type Prng } from "../prng.js";
import type { RaftstoreCluster } from "../raftstore-cluster.js";
import { sleep } from "../wait.js";
import { type ReadResult, readResult, valueKey, type WriteRecord } from "./register-values.js";
import { certainlyNotMade, serverCode, unavailableCodes } from "./server-code.js";

export interface RegisterWorkloadOptions {
  cluster: RaftstoreCluster;
  /** The resource type every key lives in. */
  type: Type;
  keys: readonly string[];
  clients: number;
  seed: number;
  /** A request's deadline; a request without an answer by then has an unknown outcome. */
  timeoutMs: number;
  /**
   * How long a client rests after an outcome it cannot know (no leader, timeout, lost
   * connection), so that a fault leaves few unknown operations per key for the checker.
   */
  backoffMs: number;
  /**
   * Share of operations that are blanket writes, then CAS, then blanket deletes (default none);
   * the rest are strong reads.
   */
  mix?: { put: number; cas: number; delete?: number };
}

/**
 * Concurrent clients of blanket writes, version-based CAS, strong reads and, if the mix says so,
 * blanket deletes, with a history.
 */
export class RegisterWorkload {
  readonly recorder = new HistoryRecorder<KvInput, KvOutput>(() => performance.now());
  /** Every write attempted, by its unique value. */
  readonly writes = new Map<string, WriteRecord>();
  /** Errors no fault explains (InvalidArgument, NotFound on a write, …): each one is a bug. */
  readonly unexpected: string[] = [];
  readonly #options: RegisterWorkloadOptions;
  readonly #clients = new Map<string, Client<typeof ResourceService>>();
  readonly #sessions: GuardedSessionManager[] = [];
  /** Nodes a client stopped using after a deadline passed there, until when. */
  readonly #avoidUntil = new Map<string, number>();
  #running: Promise<void>[] = [];
  #stopped = false;
  #held = false;
  #sequence = 0;

  constructor(options: RegisterWorkloadOptions) {
    this.#options = options;
    for (const member of options.cluster.members) {
      const session = new GuardedSessionManager(member.url);
      this.#sessions.push(session);
      this.#clients.set(
        member.id,
        createClient(
          ResourceService,
          createGrpcTransport({ baseUrl: member.url, sessionManager: session }),
        ),
      );
    }
  }

  /**
   * Writes every key once (retrying until acknowledged), so that each CAS has a version.
   * `extraKeys` are created too, for writers other than the workload's clients.
   */
  async populate(extraKeys: readonly string[] = []): Promise<void> {
    const prng = createPrng(this.#options.seed).fork(1000);
    for (const key of [...this.#options.keys, ...extraKeys]) {
      for (;;) {
        const outcome = await this.put(0, this.#pickNode(prng), key);
        if (outcome === "ok") break;
        await sleep(this.#options.backoffMs);
      }
    }
  }

  /** Starts the clients; they run until `stop`. */
  start(): void {
    const root = createPrng(this.#options.seed);
    for (let clientId = 1; clientId <= this.#options.clients; clientId++) {
      this.#running.push(this.#runClient(clientId, root.fork(clientId)));
    }
  }

  /**
   * Clients send nothing new until `release` (calls in flight go on), for a moment when the
   * test wants no load: while no quorum is up, every call would only add an unknown outcome.
   */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
  }

  /** Stops the clients and waits until every call they made has settled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
    this.#running = [];
  }

  close(): void {
    for (const session of this.#sessions) session.abort();
  }

  /** Every acknowledged write, in the order they were sent. */
  acknowledged(): WriteRecord[] {
    return [...this.writes.values()].filter((w) => w.status === "ok");
  }

  /**
   * One strong read of `key` through `node`, recorded: the value and version seen, or undefined
   * when the read failed (a failed read observes nothing and is recorded as such).
   */
  async strongRead(clientId: number, node: string, key: string): Promise<ReadResult | undefined> {
    const op = this.recorder.invoke(clientId, { op: "get", key });
    try {
      const response = await this.#client(node).read(
        { id: this.#id(key), consistency: ReadConsistency.STRONG },
        { timeoutMs: this.#options.timeoutMs },
      );
      const value = response.resource?.metadata[valueKey];
      op.ok({ ok: true, value });
      return readResult(response.resource);
    } catch (error) {
      if (serverCode(error) === Code.NotFound) {
        op.ok({ ok: true, value: undefined });
        return readResult(undefined);
      }
      op.ok({ ok: false });
      this.#classify(error, node, `read ${key} via ${node}`);
      return undefined;
    }
  }

  /** An eventual read through `node` (not recorded: eventual reads are not linearizable). */
  async eventualRead(node: string, key: string): Promise<ReadResult> {
    const response = await this.#client(node).read(
      { id: this.#id(key), consistency: ReadConsistency.EVENTUAL },
      { timeoutMs: this.#options.timeoutMs },
    );
    return readResult(response.resource);
  }

  /** One blanket write of a fresh value, recorded as a put. */
  async put(clientId: number, node: string, key: string): Promise<WriteRecord["status"]> {
    const value = this.#newValue(clientId);
    return this.#write(clientId, node, key, value, undefined);
  }

  /** One write with `version` of a fresh value, recorded as a CAS from `expected`. */
  async cas(
    clientId: number,
    node: string,
    key: string,
    expected: string,
    version: string,
  ): Promise<WriteRecord["status"]> {
    const value = this.#newValue(clientId);
    return this.#write(clientId, node, key, value, { expected, version });
  }

  /**
   * One blanket delete through `node`, recorded: "ok", "failed" when no leader took it, or
   * "unknown". It never loses to other writers, so any other answer from a server is a bug.
   */
  async delete(clientId: number, node: string, key: string): Promise<WriteRecord["status"]> {
    const op = this.recorder.invoke(clientId, { op: "delete", key });
    try {
      await this.#client(node).delete(
        { id: this.#id(key), version: "" },
        { timeoutMs: this.#options.timeoutMs },
      );
      op.ok({ ok: true });
      return "ok";
    } catch (error) {
      if (certainlyNotMade(error)) {
        op.ok({ ok: false });
        return "failed";
      }
      op.unknown();
      this.#classify(error, node, `delete ${key} via ${node}`);
      return "unknown";
    }
  }

  async #write(
    clientId: number,
    node: string,
    key: string,
    value: string,
    cas: { expected: string; version: string } | undefined,
  ): Promise<WriteRecord["status"]> {
    const record: WriteRecord = { key, value, status: "pending", invokedAt: performance.now() };
    this.writes.set(value, record);
    const op = this.recorder.invoke(
      clientId,
      cas === undefined
        ? { op: "put", key, value }
        : { op: "cas", key, expected: cas.expected, value },
    );
    try {
      const response = await this.#client(node).write(
        {
          resource: {
            id: this.#id(key),
            version: cas?.version ?? "",
            metadata: { [valueKey]: value },
          },
        },
        { timeoutMs: this.#options.timeoutMs },
      );
      op.ok({ ok: true });
      record.status = "ok";
      record.version = response.resource?.version;
    } catch (error) {
      if (serverCode(error) === Code.Aborted || certainlyNotMade(error)) {
        // The server's verdict: a CAS that lost, a blanket write whose every attempt lost, or a
        // write no leader took (Unavailable without raftstore-outcome: unknown). Nothing was
        // applied, and the checker holds the server to it.
        op.ok({ ok: false });
        record.status = "failed";
      } else {
        op.unknown();
        record.status = "unknown";
        this.#classify(error, node, `write ${key}=${value} via ${node}`);
      }
    }
    return record.status;
  }

  async #runClient(clientId: number, prng: Prng): Promise<void> {
    const mix = this.#options.mix ?? { put: 0.4, cas: 0.3 };
    while (!this.#stopped) {
      if (this.#held) {
        await sleep(20);
        continue;
      }
      const key = prng.pick(this.#options.keys);
      const dice = prng.next();
      let settled: boolean;
      if (dice < mix.put) {
        settled = (await this.put(clientId, this.#pickNode(prng), key)) !== "unknown";
      } else if (dice < mix.put + mix.cas) {
        const read = await this.strongRead(clientId, this.#pickNode(prng), key);
        if (read?.value === undefined) {
          settled = read !== undefined;
        } else {
          const status = await this.cas(
            clientId,
            this.#pickNode(prng),
            key,
            read.value,
            read.version,
          );
          settled = status !== "unknown";
        }
      } else if (dice < mix.put + mix.cas + (mix.delete ?? 0)) {
        settled = (await this.delete(clientId, this.#pickNode(prng), key)) !== "unknown";
      } else {
        settled = (await this.strongRead(clientId, this.#pickNode(prng), key)) !== undefined;
      }
      if (!settled) await sleep(this.#options.backoffMs * (0.5 + prng.next()));
    }
  }

  /**
   * A member that is not known to be down. Clients cannot tell a paused node from a slow one:
   * they keep sending to it until a request there misses its deadline, then leave it alone for
   * a while, as a client-side load balancer would.
   */
  #pickNode(prng: Prng): string {
    const now = performance.now();
    const up = this.#options.cluster.members.filter(
      (m) =>
        (m.state === "running" || m.state === "paused") && (this.#avoidUntil.get(m.id) ?? 0) <= now,
    );
    return prng.pick(up.length > 0 ? up : this.#options.cluster.members).id;
  }

  #client(node: string): Client<typeof ResourceService> {
    const client = this.#clients.get(node);
    if (client === undefined) throw new Error(`expected a member id, got "${node}"`);
    return client;
  }

  #id(key: string) {
    return {
      name: key,
      type: this.#options.type,
      tenancy: { partition: "default", namespace: "default" },
    };
  }

  #newValue(clientId: number): string {
    return `c${clientId}-${++this.#sequence}`;
  }

  /**
   * Sorts a failure whose outcome the client cannot know. A failure on the way (connection
   * refused or reset, client deadline) or a server that cannot serve now is what faults cause;
   * any other answer from a server (InvalidArgument, FailedPrecondition, Internal, …) is a bug
   * and goes to `unexpected`.
   */
  #classify(error: unknown, node: string, what: string): void {
    const ce = ConnectError.from(error);
    const code = serverCode(error);
    if (ce.code === Code.DeadlineExceeded) {
      this.#avoidUntil.set(node, performance.now() + 2 * this.#options.timeoutMs);
    }
    if (code !== undefined && !unavailableCodes.has(code)) {
      this.unexpected.push(`${what}: ${ce.message}`);
    }
  }
}
