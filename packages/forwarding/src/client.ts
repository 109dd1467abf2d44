import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import type { ID, Resource, Tenancy, Type } from "@raftstore/proto";
import {
  DeleteRequestSchema,
  ForwardingService,
  GroupVersionMismatchErrorDetailsSchema,
  ListRequestSchema,
  ReadBatchRequestSchema,
  ReadRequestSchema,
  WriteBatchRequestSchema,
  WriteRequestSchema,
} from "@raftstore/proto/storage/v1";
import {
  type CallOptions,
  GroupVersionMismatchError,
  InconsistentError,
  InvalidArgumentError,
  isGroupVersionMismatchError,
  isNotFoundError,
  type UnversionedType,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
} from "@raftstore/storage";
import { CallBatcher, estimatedIdBytes, estimatedResourceBytes } from "./call-batcher.js";
import { connectErrorToStorageError } from "./connect-error-to-storage-error.js";
import { deepFreeze } from "./deep-freeze.js";
import { detailHeader, errorHeader, partialDetailValue } from "./error-wire.js";
import { maxDeadlineMs } from "./grpc-wire.js";

/** Options of `createForwardingClient`. */
export interface ForwardingClientOptions {
  /**
   * How long a call may take before it fails with InconsistentError, unless the call sets its
   * own `timeoutMs`. It bounds a call to a leader that never answers (crashed without closing
   * the connection, partitioned away). Default 10000 ms.
   */
  timeoutMs?: number;
  /**
   * How many forwarded write calls may be in flight to the leader at once. A write that comes
   * while they are all busy waits, and leaves with the others that waited, in one WriteBatch
   * call, as soon as one is answered. 1 batches the most; more overlap more. Default 2.
   */
  maxWritesInFlight?: number;
  /** The same for strong reads (Read, ReadBatch). Default 2. */
  maxReadsInFlight?: number;
}

/** Per-call options of a ForwardingClient. */
export interface ForwardingCallOptions extends CallOptions {
  /** This call's deadline in milliseconds (positive), instead of the client's `timeoutMs`. */
  timeoutMs?: number;
}

/**
 * The follower's end of forwarding: the leader's writes, deletes and strongly consistent reads,
 * with the storage contract's errors.
 *
 * Every method rejects with a storage error the leader raised (`NotFoundError`,
 * `CASFailureError`, `WrongUidError`, `InconsistentError`, `InvalidArgumentError`,
 * `GroupVersionMismatchError`, `QuotaExceededError`), with `InconsistentError` ("leader unreachable: …", retryable)
 * when the leader cannot be reached or the connection dies mid-call or the call times out, with
 * `options.signal.reason` when the caller aborts, and with a `ConnectError` for anything else
 * (an unexpected failure on the leader arrives as Internal with the leader's message). Malformed
 * input is rejected with `InvalidArgumentError` before anything is sent.
 *
 * Returned resources, and the `stored` resource of a GroupVersionMismatchError, are deeply
 * frozen. Inputs are never mutated.
 */
export interface ForwardingClient {
  /** `writeCAS` on the leader. */
  writeCAS(resource: Resource, options?: ForwardingCallOptions): Promise<Resource>;
  /**
   * `overwrite` on the leader (`OverwritingBackend` of @raftstore/storage). A leader whose
   * target cannot overwrite refuses it with InvalidArgumentError; one too old to know the
   * request's flag runs a `writeCAS` instead, whose condition is stricter.
   */
  overwrite(resource: Resource, options?: ForwardingCallOptions): Promise<Resource>;
  /** `deleteCAS` on the leader. */
  deleteCAS(id: ID, version: string, options?: ForwardingCallOptions): Promise<void>;
  /**
   * `deleteIncarnation` on the leader (`IncarnationDeletingBackend` of @raftstore/storage). A
   * leader whose target cannot do it refuses it with InvalidArgumentError; one too old to know
   * the request's flag runs a `deleteCAS` with an empty version instead, which fails with
   * CASFailureError while the incarnation is stored.
   */
  deleteIncarnation(id: ID, options?: ForwardingCallOptions): Promise<void>;
  /** A strongly consistent `read` on the leader. */
  read(id: ID, options?: ForwardingCallOptions): Promise<Resource>;
  /** A strongly consistent `list` on the leader (every group version of the type). */
  list(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: ForwardingCallOptions,
  ): Promise<Resource[]>;
}

/** A forwarded write: the resource, and whether it is an overwrite. */
interface ForwardedWrite {
  resource: Resource;
  overwrite: boolean;
}

/**
 * How many times a read whose group-version mismatch was too large to send whole is retried
 * while the stored resource keeps changing between the two reads that rebuild it.
 */
const maxMismatchAttempts = 3;

/** The most (estimated) bytes of calls one WriteBatch or ReadBatch carries. */
const maxBatchBytes = 4 * 1024 * 1024;

/**
 * Creates the follower side of forwarding over `transport`, a Connect transport to the leader
 * (the Raft backend's `Handle.dialLeader()`, or `createForwardingTransport`). The transport
 * owns the connection; the client holds no state of its own.
 */
export function createForwardingClient(
  transport: Transport,
  options: ForwardingClientOptions = {},
): ForwardingClient {
  const defaultTimeoutMs = checkTimeout(options.timeoutMs ?? 10_000);
  const rpc = createClient(ForwardingService, transport);
  const writeBatch = (writes: readonly ForwardedWrite[]) =>
    create(WriteBatchRequestSchema, { writes: [...writes] });
  const writes = new CallBatcher<ForwardedWrite>(
    {
      async single(write, callOptions) {
        const request = create(WriteRequestSchema, write);
        const response = await call(WriteRequestSchema, request, rpc.write, callOptions);
        return deepFreeze(required(response.resource, "Write"));
      },
      batch: async (writes, timeoutMs) =>
        (await rpc.writeBatch(writeBatch(writes), { timeoutMs })).results,
      batchFailure: (error, writes, timeoutMs) =>
        failure(error, WriteBatchRequestSchema, writeBatch(writes), timeoutMs),
    },
    {
      batchMethod: "WriteBatch",
      maxInFlight: checkInFlight("maxWritesInFlight", options.maxWritesInFlight),
      maxBatchBytes,
      estimatedBytes: (write) => estimatedResourceBytes(write.resource),
    },
  );

  /** Sends a write or an overwrite, alone or batched with others. */
  function sendWrite(resource: Resource, overwrite: boolean, callOptions?: ForwardingCallOptions) {
    validateResource(resource);
    const timeoutMs = checkTimeout(callOptions?.timeoutMs ?? defaultTimeoutMs);
    return writes.send({ resource, overwrite }, { signal: callOptions?.signal, timeoutMs });
  }
  const readBatch = (ids: readonly ID[]) =>
    create(ReadBatchRequestSchema, { reads: ids.map((id) => ({ id })) });
  const reads = new CallBatcher<ID>(
    {
      async single(id, callOptions) {
        const request = create(ReadRequestSchema, { id });
        const response = await call(ReadRequestSchema, request, rpc.read, callOptions);
        return deepFreeze(required(response.resource, "Read"));
      },
      batch: async (ids, timeoutMs) => (await rpc.readBatch(readBatch(ids), { timeoutMs })).results,
      batchFailure: (error, ids, timeoutMs) =>
        failure(error, ReadBatchRequestSchema, readBatch(ids), timeoutMs),
    },
    {
      batchMethod: "ReadBatch",
      maxInFlight: checkInFlight("maxReadsInFlight", options.maxReadsInFlight),
      maxBatchBytes,
      estimatedBytes: estimatedIdBytes,
    },
  );

  /** Runs one RPC with the caller's signal and a deadline, mapping its failure. */
  async function call<S extends DescMessage, O>(
    requestSchema: S,
    request: MessageShape<S>,
    invoke: (request: MessageShape<S>, callOptions: ForwardingCallOptions) => Promise<O>,
    callOptions: ForwardingCallOptions | undefined,
  ): Promise<O> {
    const signal = callOptions?.signal;
    signal?.throwIfAborted();
    const timeoutMs = checkTimeout(callOptions?.timeoutMs ?? defaultTimeoutMs);
    try {
      return await invoke(request, { signal, timeoutMs });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw failure(error, requestSchema, request, timeoutMs);
    }
  }

  function readOnce(id: ID, callOptions?: ForwardingCallOptions): Promise<Resource> {
    const timeoutMs = checkTimeout(callOptions?.timeoutMs ?? defaultTimeoutMs);
    return reads.send(id, { signal: callOptions?.signal, timeoutMs });
  }

  /**
   * The stored resource of a mismatch the leader could only describe by id and version: read it
   * by that id (its group version and uid), and return it if it is still that version, or
   * undefined if it changed in between (the caller then starts over).
   */
  async function readStored(
    stored: Resource,
    callOptions?: ForwardingCallOptions,
  ): Promise<Resource | undefined> {
    try {
      const current = await readOnce(stored.id as ID, callOptions);
      return current.version === stored.version ? current : undefined;
    } catch (error) {
      if (isNotFoundError(error) || isGroupVersionMismatchError(error)) return undefined;
      if (partialMismatch(error) !== undefined) return undefined;
      throw error;
    }
  }

  return {
    async writeCAS(resource, callOptions) {
      return sendWrite(resource, false, callOptions);
    },

    async overwrite(resource, callOptions) {
      return sendWrite(resource, true, callOptions);
    },

    async deleteCAS(id, version, callOptions) {
      validateId(id);
      validateVersion(version);
      const request = create(DeleteRequestSchema, { id, version });
      await call(DeleteRequestSchema, request, rpc.delete, callOptions);
    },

    async deleteIncarnation(id, callOptions) {
      validateId(id);
      const request = create(DeleteRequestSchema, { id, incarnation: true });
      await call(DeleteRequestSchema, request, rpc.delete, callOptions);
    },

    async read(id, callOptions) {
      validateId(id);
      for (let attempt = 1; ; attempt++) {
        try {
          return await readOnce(id, callOptions);
        } catch (error) {
          const partial = partialMismatch(error);
          if (partial === undefined) throw error;
          const stored = await readStored(partial.stored, callOptions);
          if (stored !== undefined) {
            const rebuilt = new GroupVersionMismatchError(partial.requestedType, stored, {
              cause: error,
            });
            rebuilt.message = partial.message;
            throw rebuilt;
          }
          if (attempt >= maxMismatchAttempts) {
            throw new InconsistentError(
              `the stored resource changed during each of ${attempt} attempts to read it`,
              { cause: error },
            );
          }
        }
      }
    },

    async list(type, tenancy, namePrefix, callOptions) {
      validateListQuery(type, tenancy, namePrefix);
      // Only group and kind travel: the leader lists every group version.
      const request = create(ListRequestSchema, {
        type: { group: type.group, kind: type.kind },
        tenancy,
        namePrefix,
      });
      const response = await call(ListRequestSchema, request, rpc.list, callOptions);
      return deepFreeze(response.resources);
    },
  };
}

/** An in-flight limit: a whole number of at least 1 (default 2). */
function checkInFlight(name: string, value: number | undefined): number {
  if (value === undefined) return 2;
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be an integer of at least 1, got ${value}`);
  }
  return value;
}

/**
 * A deadline must be a positive, finite number of milliseconds: Connect reads 0 or less as "no
 * deadline", and a forwarded call without one could wait forever on a silent leader. A fraction
 * is rounded up: gRPC's grpc-timeout header takes whole units only, and connect's transport
 * would send "1.5m", which a server refuses.
 */
function checkTimeout(timeoutMs: number): number {
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  if (timeoutMs > maxDeadlineMs) {
    throw new RangeError(
      `timeoutMs must be at most ${maxDeadlineMs} ms (about 27 hours: gRPC's grpc-timeout takes ` +
        `8 digits), got ${timeoutMs}`,
    );
  }
  return Math.ceil(timeoutMs);
}

function failure(
  error: unknown,
  requestSchema: DescMessage,
  request: MessageShape<DescMessage>,
  timeoutMs: number,
): unknown {
  if (error instanceof ConnectError && !error.metadata.has(errorHeader)) {
    // connect-node reports a request it cannot encode as Internal, which would read as a broken
    // connection; encoding it here (only on this failure path) tells the two apart.
    try {
      toBinary(requestSchema, request);
    } catch (encodeError) {
      const problem = encodeError instanceof Error ? encodeError.message : String(encodeError);
      return new InvalidArgumentError("request", `cannot be encoded: ${problem}`, {
        cause: encodeError,
      });
    }
    if (error.code === Code.DeadlineExceeded) {
      return new InconsistentError(`leader unreachable: no answer within ${timeoutMs} ms`, {
        cause: error,
      });
    }
  }
  return connectErrorToStorageError(error);
}

/** A mismatch the leader sent without the whole stored resource, or undefined. */
function partialMismatch(
  error: unknown,
): { requestedType: Type; stored: Resource; message: string } | undefined {
  if (!(error instanceof ConnectError) || error.code !== Code.OutOfRange) return undefined;
  if (error.metadata.get(errorHeader) !== "GroupVersionMismatchError") return undefined;
  if (error.metadata.get(detailHeader) !== partialDetailValue) return undefined;
  const detail = error.findDetails(GroupVersionMismatchErrorDetailsSchema)[0];
  const { requestedType, stored } = detail ?? {};
  if (requestedType === undefined || stored?.id === undefined) return undefined;
  return { requestedType: deepFreeze(requestedType), stored, message: error.rawMessage };
}

function required(resource: Resource | undefined, method: string): Resource {
  if (resource === undefined) {
    throw new ConnectError(`the leader answered ${method} without a resource`, Code.Internal);
  }
  return resource;
}
