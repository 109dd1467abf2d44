import type { NodeId } from "@raftstore/raft";

// Every error this package hands out has a stable `name`, and its guard checks that name rather
// than `instanceof`, so guards keep working across duplicate copies of the package.
//
// The transport itself never throws at the engine (`send` never throws, by the Transport
// contract): these errors are what it logs and counts when it drops something, what the codec
// throws to its callers, and what the option and TLS helpers throw at configuration time.

/** The names of the errors of this package, one per failure a caller can act on. */
export type TransportErrorName =
  | "MessageDecodeError"
  | "MessageEncodeError"
  | "MessageTooLargeError"
  | "InvalidTransportOptionsError"
  | "PeerIdentityError";

function hasName(error: unknown, name: TransportErrorName): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * A message received from a peer is malformed: a field is missing, out of range or of an
 * unknown kind, or its bytes do not parse. The message is dropped (never handed to the engine)
 * and counted; the stream it came on keeps serving, unless its framing itself is broken.
 */
export class MessageDecodeError extends Error {
  override readonly name = "MessageDecodeError";
  /** The path of the offending field, such as `append.entries[3].type`, or "" for the whole. */
  readonly field: string;
  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`malformed raft message${field === "" ? "" : ` (${field})`}: ${problem}`, options);
    this.field = field;
  }
}

/**
 * A message handed to the transport cannot be put on the wire: a field the protocol needs is
 * missing, negative, fractional or above 2^53 - 1. The engine never produces one; this is a bug
 * in the caller, reported (logged, counted) instead of sent.
 */
export class MessageEncodeError extends Error {
  override readonly name = "MessageEncodeError";
  /** The path of the offending field, such as `entries[0].index`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`cannot encode raft message (${field}): ${problem}`);
    this.field = field;
  }
}

/**
 * A message is larger on the wire than `maxMessageBytes`, the limit both ends of a stream agree
 * on (the receiver refuses larger requests). It is dropped instead of sent; lower the engine's
 * `maxBytesPerAppend` or `snapshotChunkSize`, or raise the limit on every node.
 */
export class MessageTooLargeError extends Error {
  override readonly name = "MessageTooLargeError";
  readonly size: number;
  readonly maxSize: number;
  constructor(description: string, size: number, maxSize: number) {
    super(
      `${description} is ${size} bytes on the wire, more than maxMessageBytes (${maxSize}); dropped instead of sent`,
    );
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** An option of the transport, its routes or its TLS helpers is missing or out of range. */
export class InvalidTransportOptionsError extends Error {
  override readonly name = "InvalidTransportOptionsError";
}

/**
 * A peer's certificate does not name the node it speaks for: a server that is not the node we
 * dialled, or a client whose messages claim another sender. The connection or stream is refused.
 */
export class PeerIdentityError extends Error {
  override readonly name = "PeerIdentityError";
  /** The node the peer claims to be (or that we dialled). */
  readonly expected: NodeId;
  /** The node ids its certificate names. */
  readonly found: readonly NodeId[];
  constructor(expected: NodeId, found: readonly NodeId[], role: "server" | "client") {
    super(
      `expected the ${role} certificate to name node ${JSON.stringify(expected)}, found ${
        found.length === 0 ? "no node id" : found.map((id) => JSON.stringify(id)).join(", ")
      }`,
    );
    this.expected = expected;
    this.found = found;
  }
}

export const isMessageDecodeError = (e: unknown): e is MessageDecodeError =>
  hasName(e, "MessageDecodeError");
export const isMessageEncodeError = (e: unknown): e is MessageEncodeError =>
  hasName(e, "MessageEncodeError");
export const isMessageTooLargeError = (e: unknown): e is MessageTooLargeError =>
  hasName(e, "MessageTooLargeError");
export const isInvalidTransportOptionsError = (e: unknown): e is InvalidTransportOptionsError =>
  hasName(e, "InvalidTransportOptionsError");
export const isPeerIdentityError = (e: unknown): e is PeerIdentityError =>
  hasName(e, "PeerIdentityError");
