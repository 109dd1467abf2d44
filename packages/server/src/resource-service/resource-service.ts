import { randomFillSync } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  type DeleteRequest,
  type ID,
  type ListByOwnerRequest,
  type ListRequest,
  ReadConsistency as ProtoConsistency,
  type ReadRequest,
  type Resource,
  ResourceSchema,
  ResourceService,
  type WatchEvent,
  type WatchListRequest,
  type WatchListResponse,
  WatchListResponseSchema,
  type WriteRequest,
  type WriteStatusRequest,
} from "@raftstore/proto";
import {
  type Backend,
  CASFailureError,
  type CallOptions,
  canDeleteIncarnation,
  canOverwrite,
  InvalidArgumentError,
  isCASFailureError,
  isGroupVersionMismatchError,
  isNotFoundError,
  isWrongUidError,
  keepProtoMapKeys,
  ReadConsistency,
  resourceBinarySize,
  resourceKey,
  sameOwner,
  sameStatus,
} from "@raftstore/storage";
import { isValid as isValidUlid, monotonicFactory } from "ulid";
import { markIfOutcomeUnknown, toConnectError } from "./errors.js";
import { KeyQueue } from "./key-queue.js";
import { defaultRetryPolicy, type RetryPolicy, retryCAS } from "./retry.js";
import {
  checkNamePrefix,
  checkSize,
  checkType,
  normalizeId,
  normalizeQueryTenancy,
  normalizeResource,
  refuseUnknownFields,
} from "./validation.js";

/** Options of the public ResourceService. */
export interface ResourceServiceOptions {
  backend: Backend;
  /** The largest encoded resource a write may store. Default 1 MiB. */
  maxResourceBytes?: number;
  retryPolicy?: RetryPolicy;
  /** The clock for Status.updatedAt (tests pin it). */
  now?: () => Date;
  /** ULIDs for uids and generations (tests pin them). */
  newUlid?: () => string;
}

export const DEFAULT_MAX_RESOURCE_BYTES = 1024 * 1024;

function consistencyOf(value: ProtoConsistency): ReadConsistency {
  switch (value) {
    case ProtoConsistency.UNSPECIFIED:
    case ProtoConsistency.EVENTUAL:
      return ReadConsistency.Eventual;
    case ProtoConsistency.STRONG:
      return ReadConsistency.Strong;
    default:
      throw new InvalidArgumentError("consistency", `is not a known value: ${String(value)}`);
  }
}

function isEmptyStatus(status: Resource["status"] | undefined): boolean {
  return status === undefined || Object.keys(status).length === 0;
}

/** A failure a lagging local copy can cause: the leader's view may say otherwise. */
function isStaleCopyError(error: unknown): boolean {
  return isCASFailureError(error) || isWrongUidError(error) || isNotFoundError(error);
}

/**
 * For the `.catch` of a write whose caller named no incarnation (no uid): the incarnation it was
 * built on is no longer stored (deleted, perhaps made again, since it was read), or one was made
 * under a create. That is a swap lost to another writer like any other (a blanket write is
 * retried; a compare-and-swap fails with CASFailureError), not the caller's error.
 */
function lostToAnotherIncarnation(error: unknown): never {
  if (isWrongUidError(error)) {
    throw new CASFailureError("the resource was deleted or replaced while it was written", {
      cause: error,
    });
  }
  throw error;
}

/** For `.catch`: undefined for a failure a stale copy can cause, any other rethrown. */
function unlessStaleCopy(error: unknown): undefined {
  if (!isStaleCopyError(error)) throw error;
  return undefined;
}

/**
 * The public API (raftstore.resource.v1.ResourceService) over any storage Backend: validation,
 * uid and generation assignment, blanket writes and deletes with retry, status writes, group
 * version filtering, and error codes clients can act on.
 *
 * Not ported from Consul on purpose: ACLs, the type registry and its hooks, tombstones with
 * cascading deletion, and deferred deletion with finalizers.
 */
export function createResourceServiceRoutes(
  options: ResourceServiceOptions,
): (router: ConnectRouter) => void {
  const { backend } = options;
  // The Connect JSON, Connect binary and gRPC-Web paths decode with protobuf-es, which drops a
  // metadata or status key "__proto__"; kept, validation refuses it as on the gRPC path.
  keepProtoMapKeys();
  const maxBytes = options.maxResourceBytes ?? DEFAULT_MAX_RESOURCE_BYTES;
  const policy = options.retryPolicy ?? defaultRetryPolicy;
  const now = options.now ?? (() => new Date());
  const newUlid = options.newUlid ?? monotonicFactory(pooledRandom());
  const turns = new KeyQueue();
  // An update depends on what is stored only through its uid, owner and status (see
  // prepareUpdate), which is the condition of an overwrite: a blanket update is then the same on
  // whatever version is stored when it is applied, and concurrent ones of a key need not lose
  // swaps to each other.
  const overwriter = canOverwrite(backend) ? backend : undefined;
  // A blanket delete deletes the incarnation it finds, whatever its version when the delete is
  // applied: built on a version instead, it lost to every write ordered in between, and under a
  // steady stream of writes most blanket deletes ran out of attempts.
  const incarnationDeleter = canDeleteIncarnation(backend) ? backend : undefined;

  /** Reads what is stored under the id's key, whatever its group version; undefined if nothing. */
  async function readStored(id: ID, consistency: ReadConsistency, callOptions: CallOptions) {
    try {
      return await backend.read(consistency, id, callOptions);
    } catch (error) {
      if (isNotFoundError(error)) return undefined;
      if (isGroupVersionMismatchError(error)) return error.stored;
      throw error;
    }
  }

  /**
   * A read-modify-write: built on this node's copy first (cheap, usually current) and, if the
   * write then conflicts, once more on a strong read: this node may lag the leader, and a
   * conflict must be judged on the leader's view, never reported because of local staleness.
   *
   * A blanket operation whose compare-and-swap lost to another writer first looks at this
   * node's copy again. Raft applies a write on the node that made it before answering it (on
   * the leader and on a follower alike), and so does the in-memory backend: after the lost swap
   * the copy already holds the version that won, and the operation is built on it at once,
   * without a round to the leader. A copy that has not moved lags the leader (a backend that
   * answers before applying here); the leader is then asked, as before.
   */
  async function readModifyWrite<S extends { version: string } | undefined>(
    blanket: boolean,
    read: (consistency: ReadConsistency) => Promise<S>,
    write: (stored: S) => Promise<Resource>,
  ): Promise<Resource> {
    let local: S | undefined;
    let lostSwap = false;
    try {
      local = await read(ReadConsistency.Eventual);
      return await write(local);
    } catch (error) {
      if (!isStaleCopyError(error)) throw error;
      // Only a swap fails with CASFailureError, so `local` was read.
      lostSwap = blanket && isCASFailureError(error);
    }
    const again = lostSwap ? await read(ReadConsistency.Eventual) : local;
    if (again?.version !== local?.version) {
      // Only a read moves the copy: `again` is what it gave.
      const rebuilt = await write(again as S).catch(unlessStaleCopy);
      if (rebuilt !== undefined) return rebuilt;
    }
    return write(await read(ReadConsistency.Strong));
  }

  /**
   * A write of `id` built on what is stored: a compare-and-swap with the caller's version, run
   * once, or a blanket one (`blanket`), retried with backoff while other writers win.
   *
   * A blanket write that `overwrites` (see the Write handler) wins against other writers of the
   * key unless they changed what it was built on, and runs at once. Any other blanket write
   * waits for this node's earlier blanket writes of the same key, retries and backoffs
   * included. Run at once, they would all read the same version, all but one would lose their
   * swap, and each loser would go round again: under enough writers of one key, some ran out
   * of attempts and failed with Aborted. In turn, each reads what the one before wrote, and
   * only writers on other nodes can get in between; while one backs off, so does its node for
   * that key, which leaves the others room. (Holding the turn for one attempt only, so that a
   * write backing off let the next one go, made ten times more writes fail when 64 clients
   * wrote one key, in a scratch run.)
   */
  function swap<S extends { version: string } | undefined>(
    blanket: boolean,
    id: ID,
    callOptions: CallOptions,
    read: (consistency: ReadConsistency) => Promise<S>,
    write: (stored: S) => Promise<Resource>,
    overwrites = false,
  ): Promise<Resource> {
    const run = () =>
      retryCAS(blanket, () => readModifyWrite(blanket, read, write), policy, callOptions);
    return blanket && !overwrites ? turns.run(resourceKey(id), run, callOptions) : run();
  }

  async function prepareCreate(input: Resource, callOptions: CallOptions): Promise<Resource> {
    if (!isEmptyStatus(input.status)) {
      throw new InvalidArgumentError("resource.status", "cannot be set on create; use WriteStatus");
    }
    let owner = input.owner;
    if (owner !== undefined && owner.uid === "") {
      const stored = await readStored(owner, ReadConsistency.Strong, callOptions);
      if (stored?.id === undefined) {
        throw new InvalidArgumentError("resource.owner", "does not exist");
      }
      owner = { ...owner, uid: stored.id.uid };
    }
    return {
      ...input,
      id: { ...(input.id as ID), uid: newUlid() },
      owner,
      generation: newUlid(),
      status: {},
    };
  }

  function prepareUpdate(input: Resource, stored: Resource): Resource {
    if (input.version !== "" && input.version !== stored.version) throw new CASFailureError();
    let owner = input.owner;
    if (owner === undefined) owner = stored.owner;
    else if (owner.uid === "" && stored.owner !== undefined)
      owner = { ...owner, uid: stored.owner.uid };
    if (!sameOwner(owner, stored.owner)) {
      throw new InvalidArgumentError("resource.owner", "cannot be changed after creation");
    }
    if (!isEmptyStatus(input.status) && !sameStatus(input.status, stored.status)) {
      throw new InvalidArgumentError(
        "resource.status",
        "cannot be changed by Write; use WriteStatus",
      );
    }
    return {
      ...input,
      // The stored incarnation's uid; the caller's type, so a write can move the stored form
      // to another group version.
      id: { ...(input.id as ID), uid: (stored.id as ID).uid },
      owner,
      version: stored.version,
      generation: newUlid(),
      status: stored.status,
    };
  }

  const handlers = {
    async read(req: ReadRequest, ctx: HandlerContext) {
      const consistency = consistencyOf(req.consistency);
      const id = normalizeId(req.id, "id");
      return { resource: await backend.read(consistency, id, optionsOf(ctx)) };
    },

    async write(req: WriteRequest, ctx: HandlerContext) {
      const callOptions = optionsOf(ctx);
      const input = normalizeResource(req.resource, "resource");
      checkSize(resourceBinarySize(input), maxBytes, "resource");
      const blanket = input.version === "";
      // A write that names no incarnation (no uid) is built on whichever one it read: another one
      // stored by the time it is applied means it lost a swap (retried when blanket), not that
      // the caller named the wrong one.
      const anyIncarnation = (input.id as ID).uid === "";
      const resource = await swap(
        blanket,
        input.id as ID,
        callOptions,
        (consistency) => readStored(input.id as ID, consistency, callOptions),
        async (stored) => {
          let written: Promise<Resource>;
          if (stored === undefined) {
            const next = await prepareCreate(input, callOptions);
            written = backend.writeCAS(create(ResourceSchema, next), callOptions);
          } else {
            const next = create(ResourceSchema, prepareUpdate(input, stored));
            written =
              blanket && overwriter !== undefined
                ? overwriter.overwrite(next, callOptions)
                : backend.writeCAS(next, callOptions);
          }
          return change(anyIncarnation ? written.catch(lostToAnotherIncarnation) : written);
        },
        blanket && overwriter !== undefined,
      );
      return { resource };
    },

    async writeStatus(req: WriteStatusRequest, ctx: HandlerContext) {
      const callOptions = optionsOf(ctx);
      const id = normalizeId(req.id, "id");
      if (id.uid === "") throw new InvalidArgumentError("id.uid", "is required");
      if (req.key === "") throw new InvalidArgumentError("key", "is required");
      const status = req.status;
      if (status === undefined) throw new InvalidArgumentError("status", "is required");
      refuseUnknownFields(status, "status");
      if (!isValidUlid(status.observedGeneration)) {
        throw new InvalidArgumentError("status.observedGeneration", "must be a ULID");
      }
      if (status.updatedAt !== undefined) {
        throw new InvalidArgumentError("status.updatedAt", "is set by the server; leave it empty");
      }
      status.conditions.forEach((condition, i) => {
        if (condition.type === "") {
          throw new InvalidArgumentError(`status.conditions[${i}].type`, "is required");
        }
        const ref = condition.resource;
        if (ref !== undefined) {
          checkType(ref.type, `status.conditions[${i}].resource.type`);
          if (ref.name === "") {
            throw new InvalidArgumentError(`status.conditions[${i}].resource.name`, "is required");
          }
        }
      });
      const resource = await swap(
        req.version === "",
        id,
        callOptions,
        (consistency) => backend.read(consistency, id, callOptions),
        (stored) => {
          if (req.version !== "" && req.version !== stored.version) throw new CASFailureError();
          const next = create(ResourceSchema, {
            ...stored,
            status: {
              ...stored.status,
              [req.key]: { ...status, updatedAt: timestampFromDate(now()) },
            },
          });
          checkSize(resourceBinarySize(next), maxBytes, "resource");
          return change(backend.writeCAS(next, callOptions));
        },
      );
      return { resource };
    },

    async delete(req: DeleteRequest, ctx: HandlerContext) {
      const callOptions = optionsOf(ctx);
      const id = normalizeId(req.id, "id");
      if (req.version === "" && incarnationDeleter !== undefined) {
        // The incarnation is the caller's, or what a strong read finds (a lagging local copy
        // must not turn the delete into a silent no-op); any version of it is deleted.
        let target: ID | undefined = id;
        if (id.uid === "") {
          const stored = await readStored(id, ReadConsistency.Strong, callOptions);
          target = stored?.id === undefined ? undefined : { ...id, uid: stored.id.uid };
        }
        if (target !== undefined) {
          await change(incarnationDeleter.deleteIncarnation(target, callOptions));
        }
        return {};
      }
      await retryCAS(
        req.version === "",
        async () => {
          // With both a uid and a version the leader decides alone (a missing resource or
          // another incarnation is a no-op there); without them, find out what is stored,
          // strongly: a lagging local copy must not turn a delete into a silent no-op.
          if (req.version !== "" && id.uid !== "") {
            await change(backend.deleteCAS(id, req.version, callOptions));
            return;
          }
          const stored = await readStored(id, ReadConsistency.Strong, callOptions);
          if (stored?.id === undefined) return;
          const target = id.uid === "" ? { ...id, uid: stored.id.uid } : id;
          const version = req.version === "" ? stored.version : req.version;
          await change(backend.deleteCAS(target, version, callOptions));
        },
        policy,
        callOptions,
      );
      return {};
    },

    async list(req: ListRequest, ctx: HandlerContext) {
      const consistency = consistencyOf(req.consistency);
      const type = checkType(req.type, "type", { requireVersion: false });
      const tenancy = normalizeQueryTenancy(req.tenancy, "tenancy");
      checkNamePrefix(req.namePrefix, "namePrefix");
      const all = await backend.list(consistency, type, tenancy, req.namePrefix, optionsOf(ctx));
      const wanted = type.groupVersion;
      return {
        resources: wanted === "" ? all : all.filter((r) => r.id?.type?.groupVersion === wanted),
      };
    },

    async listByOwner(req: ListByOwnerRequest, ctx: HandlerContext) {
      const owner = normalizeId(req.owner, "owner");
      if (owner.uid === "") throw new InvalidArgumentError("owner.uid", "is required");
      return { resources: await backend.listByOwner(owner, optionsOf(ctx)) };
    },

    async *watchList(
      req: WatchListRequest,
      ctx: HandlerContext,
    ): AsyncGenerator<Partial<WatchListResponse>> {
      const type = checkType(req.type, "type", { requireVersion: false });
      const tenancy = normalizeQueryTenancy(req.tenancy, "tenancy");
      checkNamePrefix(req.namePrefix, "namePrefix");
      const callOptions = optionsOf(ctx);
      const watch = await backend.watchList(type, tenancy, req.namePrefix, callOptions);
      try {
        for (;;) {
          const event = await watch.next(callOptions);
          const e = event.event;
          if (
            type.groupVersion !== "" &&
            (e.case === "upsert" || e.case === "delete") &&
            e.value.resource?.id?.type?.groupVersion !== type.groupVersion
          ) {
            continue;
          }
          yield responseOf(event);
        }
      } finally {
        watch.close();
      }
    },
  };

  // A request carries at most one resource: anything much larger is refused before it is
  // read into memory (ResourceExhausted), while a resource just over the limit still gets the
  // InvalidArgument that names the limit.
  const readMaxBytes = maxBytes + REQUEST_HEADROOM_BYTES;
  return (router) => {
    router.service(
      ResourceService,
      {
        read: unary(handlers.read),
        write: unary(handlers.write),
        writeStatus: unary(handlers.writeStatus),
        delete: unary(handlers.delete),
        list: unary(handlers.list),
        listByOwner: unary(handlers.listByOwner),
        watchList: serverStream(handlers.watchList),
      },
      { readMaxBytes },
    );
  };
}

/**
 * The answer that carries `event`. A store hands the same frozen event to every watch it goes to;
 * its answer is then made once and frozen too, so that the lean gRPC handler writes its bytes
 * once for all the watches (a frozen message's frame is cached) instead of once per watch.
 */
const responses = new WeakMap<WatchEvent, WatchListResponse>();

function responseOf(event: WatchEvent): WatchListResponse {
  if (!Object.isFrozen(event)) return create(WatchListResponseSchema, { event });
  let response = responses.get(event);
  if (response === undefined) {
    response = Object.freeze(create(WatchListResponseSchema, { event }));
    responses.set(event, response);
  }
  return response;
}

/** What a request may carry beyond one resource of the largest size allowed. */
export const REQUEST_HEADROOM_BYTES = 64 * 1024;

/**
 * The options of a backend call made for `ctx`'s call: its signal, read only when the backend
 * uses it. An eventual read does not, and the lean gRPC path makes a call's AbortController only
 * when something reads its signal: most reads then make none. A class, not an object literal
 * with a getter, which V8 makes through a runtime call every time.
 */
class CallOptionsOf implements CallOptions {
  readonly #ctx: HandlerContext;
  constructor(ctx: HandlerContext) {
    this.#ctx = ctx;
  }
  get signal(): AbortSignal {
    return this.#ctx.signal;
  }
}

const optionsOf = (ctx: HandlerContext): CallOptions => new CallOptionsOf(ctx);

/**
 * A change made through the backend. A failure that may have left it made is marked so, and
 * the client is told (`outcomeHeader`); failures of the reads around it are not changes.
 */
function change<T>(made: Promise<T>): Promise<T> {
  return made.catch((error: unknown) => {
    throw markIfOutcomeUnknown(error);
  });
}

/** A unary handler whose errors reach the client as the codes of toConnectError. */
function unary<Req, Res>(handler: (req: Req, ctx: HandlerContext) => Promise<Res>) {
  return async (req: Req, ctx: HandlerContext): Promise<Res> => {
    try {
      return await handler(req, ctx);
    } catch (error) {
      throw toConnectError(error, ctx);
    }
  };
}

/** A server-streaming handler whose errors reach the client as the codes of toConnectError. */
function serverStream<Req, Res>(handler: (req: Req, ctx: HandlerContext) => AsyncGenerator<Res>) {
  return async function* (req: Req, ctx: HandlerContext): AsyncGenerator<Res> {
    try {
      yield* handler(req, ctx);
    } catch (error) {
      // The client went away: there is nobody to tell. Not so at the deadline: the client may
      // still be there, and must not take the end of the stream for its natural end.
      if (ctx.signal.aborted && !isDeadline(ctx.signal.reason)) return;
      throw toConnectError(error, ctx);
    }
  };
}

const isDeadline = (reason: unknown) =>
  reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;

/**
 * A cryptographic PRNG for ulid that draws random bytes 4 KiB at a time: ulid's own asks
 * `crypto.randomBytes(1)` for each of a ULID's 16 random characters, two ULIDs per write.
 * A byte / 256 is uniform over ulid's 32 characters (256 is a multiple of 32).
 */
function pooledRandom(): () => number {
  const pool = new Uint8Array(4096);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return (pool[next++] as number) / 256;
  };
}
