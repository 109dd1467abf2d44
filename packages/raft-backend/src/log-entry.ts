import { create, type fromBinary, isMessage } from "@bufbuild/protobuf";
import type { Store } from "@raftstore/inmem";
import { type ID, type Resource, ResourceSchema } from "@raftstore/proto";
import {
  type Log,
  type LogResponse,
  LogResponseSchema,
  LogSchema,
  LogType,
  type WriteRequest,
} from "@raftstore/proto/storage/v1";
import { fromBinaryKnowing, toBinaryKnown } from "@raftstore/storage";

// The Raft log entries of the resource store: a protobuf `Log` carrying one write or delete
// request, encoded without the unknown fields a caller's message may carry (a node stops at an
// entry with fields it does not know, taking it for a newer version's). Applying one is
// deterministic on every node: the new version of a written resource is the entry's index, and
// a failed compare-and-swap uses up its index and fails the same way everywhere. Nothing here
// may depend on the node, the clock or randomness.

// A write's Log and LogResponse are made as literals of the generated message types, complete
// (TypeScript checks every field): protobuf-es's `create` builds the same objects by reflection,
// and on every node, for every write, that cost as much as the rest of encoding or answering it.

/** Encodes a write request: `resource.version` is the expected current version. */
export function encodeWriteEntry(resource: Resource): Uint8Array {
  return encodeWrite(resource, false);
}

/**
 * Encodes an overwrite: `resource` replaces whatever version of its incarnation is stored, if
 * the stored owner and status are the resource's (`OverwritingBackend.overwrite`).
 */
export function encodeOverwriteEntry(resource: Resource): Uint8Array {
  return encodeWrite(resource, true);
}

function encodeWrite(resource: Resource, overwrite: boolean): Uint8Array {
  const value: WriteRequest = {
    $typeName: "raftstore.storage.v1.WriteRequest",
    // A caller's plain object (typed as a Resource) becomes one, as `create` would make it.
    resource: isMessage(resource, ResourceSchema) ? resource : create(ResourceSchema, resource),
    // In the log, the entry's case says it; the flag is for forwarding.
    overwrite: false,
  };
  const log: Log = {
    $typeName: "raftstore.storage.v1.Log",
    type: overwrite ? LogType.OVERWRITE : LogType.WRITE,
    request: overwrite ? { case: "overwrite", value } : { case: "write", value },
  };
  return toBinaryKnown(LogSchema, log);
}

/** Encodes a delete request. */
export function encodeDeleteEntry(id: ID, version: string): Uint8Array {
  return toBinaryKnown(
    LogSchema,
    create(LogSchema, {
      type: LogType.DELETE,
      request: { case: "delete", value: { id, version } },
    }),
  );
}

/**
 * Encodes the delete of an incarnation: whatever version of `id.uid` is stored under `id`'s key
 * (`IncarnationDeletingBackend.deleteIncarnation`).
 */
export function encodeDeleteIncarnationEntry(id: ID): Uint8Array {
  return toBinaryKnown(
    LogSchema,
    create(LogSchema, {
      type: LogType.DELETE_INCARNATION,
      request: { case: "deleteIncarnation", value: { id } },
    }),
  );
}

/** A log entry whose bytes are not a valid resource operation. */
export class MalformedEntryError extends Error {
  override readonly name = "MalformedEntryError";
  readonly index: bigint;
  constructor(index: bigint, problem: string, options?: ErrorOptions) {
    super(`log entry ${index} is not a resource operation: ${problem}`, options);
    this.index = index;
  }
}

/**
 * A log entry with fields this version does not know: written by a newer version, whose meaning
 * this one cannot tell. Thrown, not returned: applying the part it understands could change the
 * store differently from its peers' (an `overwrite` read as nothing at all, a flag that makes a
 * delete conditional ignored), and a replica out of step serves wrong reads from then on.
 */
export class UnsupportedEntryError extends Error {
  override readonly name = "UnsupportedEntryError";
  readonly index: bigint;
  constructor(index: bigint) {
    super(
      `log entry ${index} carries fields this version of raftstore does not know: a newer version wrote it. ` +
        "This node stops rather than apply it differently from its peers; upgrade it and start it again (its data is intact)",
    );
    this.index = index;
  }
}

/**
 * Applies one committed entry to the store and returns the response: a LogResponse on success,
 * or the Error the operation failed with (CASFailureError, WrongUidError, InvalidArgumentError,
 * MalformedEntryError). Errors are returned, not thrown, so that one bad entry never stops the
 * state machine: every node reaches the same verdict and moves on. The exception is an entry of
 * a newer version (`UnsupportedEntryError`, thrown), which this node cannot apply as its peers do.
 */
export function applyEntry(store: Store, buf: Uint8Array, index: bigint): LogResponse | Error {
  let log: ReturnType<typeof fromBinary<typeof LogSchema>>;
  try {
    const decoded = fromBinaryKnowing(LogSchema, buf);
    if (decoded.unknownFields) throw new UnsupportedEntryError(index);
    log = decoded.message;
  } catch (error) {
    if (error instanceof UnsupportedEntryError) throw error;
    return new MalformedEntryError(index, "undecodable protobuf", { cause: error });
  }
  try {
    switch (log.request.case) {
      case "write":
      case "overwrite": {
        const { case: kind, value } = log.request;
        const resource = value.resource;
        if (resource === undefined) {
          return new MalformedEntryError(index, `${kind} without a resource`);
        }
        const version = index.toString();
        const stored =
          kind === "write" ? store.writeCAS(resource, version) : store.overwrite(resource, version);
        const response: LogResponse = {
          $typeName: "raftstore.storage.v1.LogResponse",
          response: {
            case: kind,
            value: { $typeName: "raftstore.storage.v1.WriteResponse", resource: stored },
          },
        };
        return response;
      }
      case "delete":
      case "deleteIncarnation": {
        const { case: kind, value } = log.request;
        if (value.id === undefined) return new MalformedEntryError(index, `${kind} without an id`);
        if (kind === "delete") store.deleteCAS(value.id, value.version);
        else store.deleteIncarnation(value.id);
        return create(LogResponseSchema, { response: { case: kind, value: {} } });
      }
      default:
        return new MalformedEntryError(index, `unexpected request type ${String(log.type)}`);
    }
  } catch (error) {
    if (error instanceof Error) return error;
    return new MalformedEntryError(index, String(error));
  }
}
