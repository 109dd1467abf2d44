import type { Duplex } from "node:stream";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  createForwardingClient,
  createForwardingRoutes,
  createForwardingServer,
  type ForwardingClient,
  type ForwardingServer,
  type ForwardingTarget,
} from "@raftstore/forwarding";
import { checkQuota, Store, type StoreOptions, validateQuotaBytes } from "@raftstore/inmem";
import type { ID, Resource, Tenancy } from "@raftstore/proto";
import type { LogResponse } from "@raftstore/proto/storage/v1";
import {
  type CallOptions,
  findStorageError,
  type IncarnationDeletingBackend,
  InconsistentError,
  type OverwritingBackend,
  ReadConsistency,
  type UnversionedType,
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
  type Watch,
} from "@raftstore/storage";
import { type Handle, isNoLeaderError, NoLeaderError } from "./handle.js";
import {
  applyEntry,
  encodeDeleteEntry,
  encodeDeleteIncarnationEntry,
  encodeOverwriteEntry,
  encodeWriteEntry,
} from "./log-entry.js";
import type { Logger } from "./logger.js";
import { type Restoration, restoreStore, type Snapshot, snapshotStore } from "./snapshot.js";

/** Options of the Raft-backed Backend. */
export interface BackendOptions extends StoreOptions {
  /** Per-call timeout of a forwarded request, in ms. Default 10_000. */
  forwardingTimeoutMs?: number;
  /**
   * How long a write, delete or strong read waits for a leader, in ms, when it found none
   * (an election is on): it is made again once one is known, instead of failing at once.
   * Consul's rpc_hold_timeout, with its default: 7_000. 0 fails at once.
   */
  leaderHoldMs?: number;
  /**
   * The most the store may hold, in the bytes of `Store.bytes` (each resource's content plus a
   * fixed overhead: an estimate of its memory). A write that would grow the store past
   * it is refused with QuotaExceededError before it is proposed; deletes, and writes that do not
   * grow the store, still go through. It is checked against the proposing node's store before
   * the entry is ordered, so writes in flight together may pass it by as much as they carry
   * (etcd's quota is as soft). Default: none.
   */
  quotaBytes?: number;
}

export const DEFAULT_LEADER_HOLD_MS = 7_000;
/** The first pause between two tries while a leader is known but still refuses the call. */
const HOLD_RETRY_MS = 10;
const HOLD_RETRY_MAX_MS = 500;

/**
 * The seed's storage Backend: every write goes through the Raft log, every eventual read, list
 * and watch is served from the local in-memory store, and strong reads are confirmed by the
 * leader before they are answered. A follower whose engine reaches the leader itself proposes
 * writes and confirms strong reads (ReadIndex) through it and answers from its own store;
 * another follower forwards them to the leader's ForwardingService.
 *
 * The engine is reached only through `Handle`, and the FSM calls `apply` for every committed
 * entry, so this class never imports the consensus engine.
 */
export class Backend implements OverwritingBackend, IncarnationDeletingBackend {
  readonly #handle: Handle | undefined;
  readonly #logger: Logger;
  readonly #store: Store;
  readonly #options: BackendOptions;
  #forwardingServer: ForwardingServer | undefined;
  #leaderClient: ForwardingClient | undefined;
  #stopped = false;

  constructor(handle: Handle | undefined, logger: Logger, options: BackendOptions = {}) {
    this.#handle = handle;
    this.#logger = logger;
    validateQuotaBytes(options.quotaBytes);
    this.#options = options;
    this.#store = new Store(options);
  }

  /** The in-memory store every read is served from (for metrics and tests). */
  get store(): Store {
    return this.#store;
  }

  /**
   * Runs until `signal` aborts: then stops the forwarding server and ends every watch with
   * WatchClosedError, so consumers see the shutdown instead of waiting forever.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true }),
      );
    }
    this.#stopped = true;
    await this.#forwardingServer?.close();
    this.#store.close();
  }

  // --- The FSM side: called by the engine's state machine for every committed entry. ---

  /**
   * Applies a committed log entry at `index`. Deterministic on every node: the new version of a
   * written resource is `index` in decimal, and a failed compare-and-swap fails the same way
   * everywhere. Returns a LogResponse, or the Error the operation failed with (returned, not
   * thrown, so that a bad entry cannot stop the state machine). An entry a newer version wrote
   * throws `UnsupportedEntryError`: this node cannot apply it as its peers do, and stops.
   */
  apply(buf: Uint8Array, index: bigint): LogResponse | Error {
    const response = applyEntry(this.#store, buf, index);
    if (response instanceof Error && response.name === "MalformedEntryError") {
      this.#logger.error({ index: index.toString(), err: response }, "malformed log entry");
    }
    return response;
  }

  /** A point-in-time iteration of the store: protobuf-encoded resources in key order. */
  snapshot(): Snapshot {
    return snapshotStore(this.#store);
  }

  /** Replaces the store's content; `commit()` ends every watch with WatchClosedError. */
  restore(): Restoration {
    return restoreStore(this.#store);
  }

  // --- Leader side of forwarding. ---

  /** A forwarding connection was opened to this node: serve the ForwardingService on it. */
  handleConnection(socket: Duplex): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    this.#forwardingServer ??= createForwardingServer(this.#leaderTarget());
    this.#forwardingServer.handleConnection(socket);
  }

  /**
   * The ForwardingService routes, for a server that serves forwarding on its own HTTP/2 router
   * (next to its other services) rather than on sockets handed to `handleConnection`. The
   * routes only act while this node is the leader; otherwise they answer InconsistentError, so a
   * forwarded request never hops twice.
   */
  forwardingRoutes(): (router: ConnectRouter) => void {
    return createForwardingRoutes(this.#leaderTarget());
  }

  /**
   * The leader changed: forget the cached client of the old one. The connection itself belongs
   * to the Handle, which closes it (dialLeader hands out a transport per leader).
   */
  leaderChanged(): void {
    this.#leaderClient = undefined;
  }

  // --- storage.Backend ---

  async read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource> {
    validateConsistency(consistency);
    if (consistency === ReadConsistency.Eventual) return this.#store.read(id); // which validates
    validateId(id);
    return this.#holdingForLeader(options, () =>
      this.#servesLocally()
        ? this.#strongRead(id, options)
        : this.#forward((client) => client.read(id, options)),
    );
  }

  async writeCAS(resource: Resource, options?: CallOptions): Promise<Resource> {
    return this.#write(resource, false, options);
  }

  /**
   * `OverwritingBackend.overwrite`: proposed as an entry of its own, whose condition (the stored
   * uid, owner and status) is checked when it is applied, so concurrent overwrites of one key
   * each take one round.
   */
  async overwrite(resource: Resource, options?: CallOptions): Promise<Resource> {
    return this.#write(resource, true, options);
  }

  async #write(resource: Resource, overwrite: boolean, options?: CallOptions): Promise<Resource> {
    validateResource(resource);
    return this.#holdingForLeader(options, () =>
      this.#servesLocally()
        ? this.#proposeWrite(resource, overwrite, options)
        : this.#forward((client) =>
            overwrite ? client.overwrite(resource, options) : client.writeCAS(resource, options),
          ),
    );
  }

  async deleteCAS(id: ID, version: string, options?: CallOptions): Promise<void> {
    validateId(id);
    validateVersion(version);
    return this.#delete(id, version, options);
  }

  /**
   * `IncarnationDeletingBackend.deleteIncarnation`: proposed as an entry of its own, whose
   * condition (the stored uid) is checked when it is applied, so writes of the incarnation
   * ordered before it cannot make it fail.
   */
  async deleteIncarnation(id: ID, options?: CallOptions): Promise<void> {
    validateId(id);
    return this.#delete(id, undefined, options);
  }

  /** A delete of the incarnation `id` names at `version` (at any, when undefined). */
  async #delete(id: ID, version: string | undefined, options?: CallOptions): Promise<void> {
    return this.#holdingForLeader(options, () =>
      this.#servesLocally()
        ? this.#proposeDelete(id, version, options)
        : this.#forward((client) =>
            version === undefined
              ? client.deleteIncarnation(id, options)
              : client.deleteCAS(id, version, options),
          ),
    );
  }

  async list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]> {
    validateConsistency(consistency);
    validateListQuery(type, tenancy, namePrefix);
    if (consistency === ReadConsistency.Eventual) {
      return this.#store.list(type, tenancy, namePrefix);
    }
    return this.#holdingForLeader(options, () =>
      this.#servesLocally()
        ? this.#strongList(type, tenancy, namePrefix, options)
        : this.#forward((client) => client.list(type, tenancy, namePrefix, options)),
    );
  }

  async listByOwner(id: ID, _options?: CallOptions): Promise<Resource[]> {
    validateId(id);
    return this.#store.listByOwner(id);
  }

  async watchList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    _options?: CallOptions,
  ): Promise<Watch> {
    validateListQuery(type, tenancy, namePrefix);
    return this.#store.watchList(type, tenancy, namePrefix);
  }

  // --- Served through this node's engine: the leader's, or a follower's that reaches the leader
  // itself. The leader's forwarding routes use these too, and never forward again, so a request
  // cannot loop. ---

  /**
   * Runs `call`, and while it fails with NoLeaderError (it did nothing: no leader could take it),
   * waits for a leader and runs it again, for at most `leaderHoldMs` in all, as Consul's servers
   * hold an RPC through an election. A client then sees a failover as a pause, not an error.
   * Errors that may have had an effect (leadership lost after a write was appended) end the call
   * at once, as before. The leader side of forwarding never holds: a follower re-dials instead.
   */
  async #holdingForLeader<T>(options: CallOptions | undefined, call: () => Promise<T>): Promise<T> {
    // The hold starts at the first refusal: a call that succeeds at once pays nothing for it.
    let until = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const handle = this.#requireHandle();
        if (!isNoLeaderError(error) || handle.awaitLeader === undefined) throw error;
        if (attempt === 0) {
          until = performance.now() + (this.#options.leaderHoldMs ?? DEFAULT_LEADER_HOLD_MS);
        }
        const signal = options?.signal;
        // Known a leader and still refused (it stepped down since, say): pause before the next try.
        const pause =
          attempt === 0
            ? 0
            : Math.min(HOLD_RETRY_MAX_MS, HOLD_RETRY_MS * 2 ** Math.min(attempt, 16));
        if (pause > 0) await delay(Math.min(pause, until - performance.now()), signal);
        const left = until - performance.now();
        const found = left > 0 && (await handle.awaitLeader({ timeoutMs: left, signal }));
        if (signal?.aborted) throw signal.reason;
        if (!found) throw error;
      }
    }
  }

  /** Whether writes and strong reads go through this node's engine, not the ForwardingService. */
  #servesLocally(): boolean {
    const handle = this.#requireHandle();
    return handle.servesLocally?.() ?? handle.isLeader();
  }

  async #proposeWrite(
    resource: Resource,
    overwrite: boolean,
    options?: CallOptions,
  ): Promise<Resource> {
    checkQuota(this.#store, resource, this.#options.quotaBytes);
    const entry = overwrite ? encodeOverwriteEntry(resource) : encodeWriteEntry(resource);
    const response = await this.#propose(entry, options);
    const kind = overwrite ? "overwrite" : "write";
    if (response.response.case !== kind || response.response.value.resource === undefined) {
      throw new Error(`unexpected response to a write entry: ${response.response.case}`);
    }
    return response.response.value.resource;
  }

  async #proposeDelete(id: ID, version: string | undefined, options?: CallOptions): Promise<void> {
    const [entry, kind] =
      version === undefined
        ? [encodeDeleteIncarnationEntry(id), "deleteIncarnation"]
        : [encodeDeleteEntry(id, version), "delete"];
    const response = await this.#propose(entry, options);
    if (response.response.case !== kind) {
      throw new Error(`unexpected response to a ${kind} entry: ${response.response.case}`);
    }
  }

  async #strongRead(id: ID, options?: CallOptions): Promise<Resource> {
    await this.#ensureStrongConsistency(options);
    return this.#store.read(id);
  }

  async #strongList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]> {
    await this.#ensureStrongConsistency(options);
    return this.#store.list(type, tenancy, namePrefix);
  }

  /** Applies an entry through Raft; an Error response is thrown as the local store would. */
  async #propose(entry: Uint8Array, options?: CallOptions): Promise<LogResponse> {
    const response = await this.#requireHandle().apply(entry, options);
    if (response instanceof Error) throw response;
    if (!isLogResponse(response)) {
      throw new Error(`unexpected response from Raft apply: ${describe(response)}`);
    }
    return response;
  }

  async #ensureStrongConsistency(options?: CallOptions): Promise<void> {
    try {
      await this.#requireHandle().ensureStrongConsistency(options);
    } catch (error) {
      if (options?.signal?.aborted && error === options.signal.reason) throw error;
      if (findStorageError(error, "InconsistentError") !== undefined) throw error;
      throw new InconsistentError(`cannot serve a strong read: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  #leaderTarget(): ForwardingTarget {
    const leaderOnly = async () => {
      if (!this.#requireHandle().isLeader()) {
        // Nothing done: the follower holds the call until it knows the new leader.
        throw new NoLeaderError("this node is no longer the leader; retry");
      }
    };
    return {
      writeCAS: async (resource, options) => {
        validateResource(resource);
        await leaderOnly();
        return this.#proposeWrite(resource, false, options);
      },
      overwrite: async (resource, options) => {
        validateResource(resource);
        await leaderOnly();
        return this.#proposeWrite(resource, true, options);
      },
      deleteCAS: async (id, version, options) => {
        validateId(id);
        validateVersion(version);
        await leaderOnly();
        return this.#proposeDelete(id, version, options);
      },
      deleteIncarnation: async (id, options) => {
        validateId(id);
        await leaderOnly();
        return this.#proposeDelete(id, undefined, options);
      },
      read: async (_consistency, id, options) => {
        validateId(id);
        await leaderOnly();
        return this.#strongRead(id, options);
      },
      list: async (_consistency, type, tenancy, namePrefix, options) => {
        validateListQuery(type, tenancy, namePrefix);
        await leaderOnly();
        return this.#strongList(type, tenancy, namePrefix, options);
      },
    };
  }

  // --- Follower side of forwarding. ---

  async #forward<T>(call: (client: ForwardingClient) => Promise<T>): Promise<T> {
    let client = this.#leaderClient;
    if (client === undefined) {
      let transport: ReturnType<Handle["dialLeader"]>;
      try {
        transport = this.#requireHandle().dialLeader();
      } catch (error) {
        if (findStorageError(error, "InconsistentError") !== undefined) throw error;
        // Nothing was sent: the call may be made again once a leader is known.
        throw new NoLeaderError(`no leader to forward to: ${describe(error)}`, {
          cause: error,
        });
      }
      client = createForwardingClient(transport, {
        timeoutMs: this.#options.forwardingTimeoutMs,
      });
      this.#leaderClient = client;
    }
    return call(client);
  }

  #requireHandle(): Handle {
    if (this.#handle === undefined) {
      throw new InconsistentError("this backend has no Raft handle (restore-only mode)");
    }
    return this.#handle;
  }
}

function isLogResponse(value: unknown): value is LogResponse {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { $typeName?: unknown }).$typeName === "raftstore.storage.v1.LogResponse"
  );
}

/**
 * Resolves after `ms` (at once if not positive), or as soon as `signal` aborts. On the global
 * setTimeout rather than node:timers/promises, which tests' fake timers do not replace.
 */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
