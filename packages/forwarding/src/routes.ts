import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  ForwardingService,
  type ResourceResult,
  ResourceResultSchema,
  type WriteRequest,
} from "@raftstore/proto/storage/v1";
import {
  type CallOptions,
  InvalidArgumentError,
  ReadConsistency,
  type UnversionedType,
  unversionedType,
  validateId,
  validateResource,
  validateTenancy,
  validateType,
} from "@raftstore/storage";
import { errorToConnectError } from "./error-to-connect-error.js";
import { connectErrorToStatus } from "./forwarded-status.js";

/** The most writes one WriteBatch, or reads one ReadBatch, may carry. */
export const maxBatchCalls = 256;

/**
 * What the leader side needs: the leader's own storage operations. A `Backend` is one; the Raft
 * backend passes itself, so a forwarded write takes the same path as a local one (a Raft log
 * entry), and a forwarded read the same consistency check.
 *
 * A call is aborted (`options.signal`) when the follower gives up or the connection dies; an
 * aborted write may still take effect.
 */
export interface ForwardingTarget {
  writeCAS(resource: Resource, options?: CallOptions): Promise<Resource>;
  /** `OverwritingBackend.overwrite`; without it, a forwarded overwrite is refused. */
  overwrite?(resource: Resource, options?: CallOptions): Promise<Resource>;
  deleteCAS(id: ID, version: string, options?: CallOptions): Promise<void>;
  /**
   * `IncarnationDeletingBackend.deleteIncarnation`; without it, a forwarded incarnation delete
   * is refused.
   */
  deleteIncarnation?(id: ID, options?: CallOptions): Promise<void>;
  read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource>;
  list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]>;
}

/**
 * The forwarding service's routes, for `connectNodeAdapter({ routes })` or any Connect router:
 * `Write` → `target.writeCAS` (or `target.overwrite` when the request says so), `Delete` →
 * `target.deleteCAS` (or `target.deleteIncarnation` when the request says so), `Read` and `List` → the target's strongly consistent read and list.
 *
 * `WriteBatch` runs each of its writes as `Write` would, all at once, and answers each with
 * its resource or with the status a `Write` of it would have failed with; the writes succeed or
 * fail one by one. `ReadBatch` does the same with strong reads. A batch with no calls, or more
 * than 256, is refused whole.
 *
 * A malformed request (a Write without a resource, a Read without an id, …) is answered with
 * InvalidArgument before the target is called. Every failure is answered with
 * `errorToConnectError`, so storage errors reach the follower as themselves and anything else as
 * Internal with its message.
 */
export function createForwardingRoutes(target: ForwardingTarget): (router: ConnectRouter) => void {
  /** A Write, or one write of a WriteBatch: a compare-and-swap, or an overwrite. */
  function write(request: WriteRequest, signal: AbortSignal): Promise<Resource> {
    validateResource(request.resource, "resource");
    if (!request.overwrite) return target.writeCAS(request.resource, { signal });
    if (target.overwrite === undefined) {
      throw new InvalidArgumentError("overwrite", "is not supported by the leader's backend");
    }
    return target.overwrite(request.resource, { signal });
  }

  return (router) => {
    router.service(ForwardingService, {
      write: (request, context) =>
        answer(async () => ({ resource: await write(request, context.signal) })),
      writeBatch: (request, context) =>
        answer(() =>
          runBatch("writes", request.writes, context.signal, (one) => write(one, context.signal)),
        ),
      delete: (request, context) =>
        answer(async () => {
          validateId(request.id, "id");
          const options = { signal: context.signal };
          if (!request.incarnation) {
            await target.deleteCAS(request.id, request.version, options);
          } else if (target.deleteIncarnation === undefined) {
            throw new InvalidArgumentError(
              "incarnation",
              "is not supported by the leader's backend",
            );
          } else {
            await target.deleteIncarnation(request.id, options);
          }
          return {};
        }),
      read: (request, context) =>
        answer(async () => {
          validateId(request.id, "id");
          const options = { signal: context.signal };
          return { resource: await target.read(ReadConsistency.Strong, request.id, options) };
        }),
      readBatch: (request, context) =>
        answer(() =>
          runBatch("reads", request.reads, context.signal, ({ id }) => {
            validateId(id, "id");
            return target.read(ReadConsistency.Strong, id, { signal: context.signal });
          }),
        ),
      list: (request, context) =>
        answer(async () => {
          validateType(request.type, "type");
          validateTenancy(request.tenancy, "tenancy");
          const resources = await target.list(
            ReadConsistency.Strong,
            unversionedType(request.type),
            request.tenancy,
            request.namePrefix,
            { signal: context.signal },
          );
          return { resources };
        }),
    });
  };
}

/**
 * Runs every call of a batch at once, and answers each with its resource or with the status a
 * call of its own would have failed with.
 */
async function runBatch<C>(
  field: string,
  calls: readonly C[],
  signal: AbortSignal,
  run: (call: C) => Promise<Resource>,
): Promise<{ results: ResourceResult[] }> {
  if (calls.length === 0 || calls.length > maxBatchCalls) {
    throw new InvalidArgumentError(
      field,
      `must hold 1 to ${maxBatchCalls} ${field}, found ${calls.length}`,
    );
  }
  // Every call of the batch shares the batch's signal, and the target listens on it once or
  // more per call (the Raft engine does, per proposal and per read). Past Node's default of 10
  // listeners, each batch would print a MaxListenersExceededWarning (formatted with
  // util.inspect) on the leader's stderr: these listeners are expected, and leave as their
  // calls settle.
  setMaxListeners(0, signal);
  const results = await Promise.all(
    calls.map(async (call): Promise<ResourceResult> => {
      try {
        const resource = await run(call);
        return create(ResourceResultSchema, { outcome: { case: "resource", value: resource } });
      } catch (error) {
        const status = connectErrorToStatus(errorToConnectError(error));
        return create(ResourceResultSchema, { outcome: { case: "error", value: status } });
      }
    }),
  );
  return { results };
}

async function answer<T>(handle: () => Promise<T>): Promise<T> {
  try {
    return await handle();
  } catch (error) {
    throw errorToConnectError(error);
  }
}
