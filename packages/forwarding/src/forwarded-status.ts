import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ForwardedStatus, ForwardedStatusSchema } from "@raftstore/proto/storage/v1";

// A batch of forwarded writes or reads answers each call on its own, so an error cannot travel
// as the batch's status: it travels as a ForwardedStatus inside the answer. It holds exactly what
// the status of a single call would have held (code, message, trailers, details), so that the
// follower turns it back into the same ConnectError and from there into the same storage error
// (connect-error-to-storage-error.ts), with one mapping for both paths.

const typeUrlPrefix = "type.googleapis.com/";

/** The ConnectError that `errorToConnectError` made, as a message. */
export function connectErrorToStatus(error: ConnectError): ForwardedStatus {
  const metadata: Record<string, string> = {};
  error.metadata.forEach((value, key) => {
    metadata[key] = value;
  });
  const details = error.details.map((detail) =>
    "desc" in detail
      ? {
          typeUrl: typeUrlPrefix + detail.desc.typeName,
          value: toBinary(detail.desc, create(detail.desc, detail.value)),
        }
      : { typeUrl: typeUrlPrefix + detail.type, value: detail.value },
  );
  return create(ForwardedStatusSchema, {
    code: error.code,
    message: error.rawMessage,
    metadata,
    details,
  });
}

/**
 * The ConnectError a single call would have failed with. A status with a code that is not a
 * failure (0, or outside gRPC's codes) becomes Internal: the answer is malformed.
 */
export function statusToConnectError(status: ForwardedStatus): ConnectError {
  const known = Number.isInteger(status.code) && status.code >= 1 && status.code <= 16;
  if (!known) {
    return new ConnectError(
      `the leader answered a batched call with a malformed status (code ${status.code}): ${status.message}`,
      Code.Internal,
    );
  }
  const error = new ConnectError(status.message, status.code as Code, status.metadata);
  error.details = status.details.map((detail) => ({
    type: detail.typeUrl.startsWith(typeUrlPrefix)
      ? detail.typeUrl.slice(typeUrlPrefix.length)
      : detail.typeUrl,
    value: detail.value,
  }));
  return error;
}
