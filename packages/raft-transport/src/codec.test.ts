import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  EntryType as EntryTypeProto,
  RaftMessageSchema,
  SnapshotTransferStatus,
} from "@raftstore/proto/raft/v1";
import { type Message, validateMessage } from "@raftstore/raft";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage, decodeMessageBytes } from "./decode-message.js";
import { encodeMessage } from "./encode-message.js";
import { isMessageDecodeError, isMessageEncodeError, type MessageDecodeError } from "./errors.js";
import { serializeMessage } from "./serialize-message.js";
import { anyMessage, append, snapshotChunk } from "./test-support/messages.js";

function roundTrip(message: Message): Message {
  return decodeMessage(
    fromBinary(RaftMessageSchema, toBinary(RaftMessageSchema, encodeMessage(message))),
  );
}

function decodeError(
  init: Parameters<typeof create<typeof RaftMessageSchema>>[1],
): MessageDecodeError {
  try {
    decodeMessage(create(RaftMessageSchema, init));
  } catch (error) {
    if (isMessageDecodeError(error)) return error;
    throw error;
  }
  throw new Error("expected a MessageDecodeError, decoding succeeded");
}

const envelope = { from: "n1", to: "n2", term: 3n };

describe("the codec", () => {
  it("round-trips every message type with every field in range", () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        expect(roundTrip(message)).toEqual(message);
      }),
      { numRuns: 2000 },
    );
  });

  it("covers every message type of the engine", () => {
    const types = new Set<string>();
    fc.assert(
      fc.property(anyMessage, (message) => {
        types.add(message.type);
      }),
      { numRuns: 500 },
    );
    expect([...types].sort()).toEqual([
      "append",
      "appendResponse",
      "heartbeat",
      "heartbeatResponse",
      "propose",
      "proposeResponse",
      "readIndex",
      "readIndexResponse",
      "snapshotChunk",
      "snapshotChunkResponse",
      "timeoutNow",
      "vote",
      "voteResponse",
    ]);
  });

  it("keeps entries and chunks valid for the engine across the wire", () => {
    const messages = [append("n1", "n2", 10, 5, 300), snapshotChunk("n1", "n2", 1, 3, 4096)];
    for (const message of messages) {
      const decoded = roundTrip(message);
      expect(validateMessage(decoded)).toBeUndefined();
      expect(decoded).toEqual(message);
    }
  });

  it("copies entry data out of the request buffer, so entries do not pin requests", () => {
    const bytes = toBinary(RaftMessageSchema, encodeMessage(append("n1", "n2", 0, 2, 100)));
    const decoded = decodeMessage(fromBinary(RaftMessageSchema, bytes));
    if (decoded.type !== "append") throw new Error("expected an append");
    for (const entry of decoded.entries) expect(entry.data.buffer).not.toBe(bytes.buffer);
  });

  it("refuses numbers it cannot represent exactly, naming the field", () => {
    const tooBig = decodeError({
      ...envelope,
      body: { case: "heartbeat", value: { commit: 2n ** 53n, context: 1n } },
    });
    expect(tooBig.field).toBe("heartbeat.commit");
    expect(tooBig.message).toContain("expected at most 2^53 - 1, found 9007199254740992");

    const entryTerm = decodeError({
      ...envelope,
      body: {
        case: "append",
        value: { entries: [{ index: 1n, term: 2n ** 64n - 1n, type: EntryTypeProto.NORMAL }] },
      },
    });
    expect(entryTerm.field).toBe("append.entries[0].term");
  });

  it("refuses missing ids, bodies, metadata and unknown enum values", () => {
    expect(decodeError({ ...envelope, from: "" }).field).toBe("from");
    expect(decodeError({ ...envelope, to: "x".repeat(257) }).field).toBe("to");
    expect(decodeError({ ...envelope }).field).toBe("body");
    expect(
      decodeError({
        ...envelope,
        body: { case: "append", value: { entries: [{ index: 1n, term: 1n }] } },
      }).message,
    ).toContain("expected a known entry type, found 0");
    expect(
      decodeError({
        ...envelope,
        body: {
          case: "append",
          value: { entries: [{ index: 1n, term: 1n, type: 9 as EntryTypeProto }] },
        },
      }).field,
    ).toBe("append.entries[0].type");
    expect(
      decodeError({ ...envelope, body: { case: "snapshotChunk", value: { offset: 0n } } }).field,
    ).toBe("snapshotChunk.snapshot");
    expect(
      decodeError({
        ...envelope,
        body: { case: "snapshotChunk", value: { snapshot: { index: 1n, term: 1n } } },
      }).field,
    ).toBe("snapshotChunk.snapshot.config");
    expect(
      decodeError({
        ...envelope,
        body: {
          case: "snapshotChunk",
          value: { snapshot: { index: 1n, term: 1n, config: { voters: ["n1", ""] } } },
        },
      }).field,
    ).toBe("snapshotChunk.snapshot.config.voters[1]");
    expect(
      decodeError({
        ...envelope,
        body: {
          case: "snapshotChunkResponse",
          value: { status: SnapshotTransferStatus.UNSPECIFIED },
        },
      }).field,
    ).toBe("snapshotChunkResponse.status");
  });

  it("either decodes arbitrary protobuf messages or throws a MessageDecodeError, never crashes", () => {
    // Random bytes that happen to parse as a RaftMessage exercise every field in and out of
    // range; whatever decodes must be well-formed enough for the engine's own validation to
    // judge it (a string or undefined), never a crash.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        let proto: ReturnType<typeof fromBinary<typeof RaftMessageSchema>>;
        try {
          proto = fromBinary(RaftMessageSchema, bytes);
        } catch {
          return; // not protobuf at all: the transport counts it as malformed (tested there)
        }
        try {
          const decoded = decodeMessage(proto);
          const verdict = validateMessage(decoded);
          expect(verdict === undefined || typeof verdict === "string").toBe(true);
        } catch (error) {
          expect(isMessageDecodeError(error)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("turns truncated or corrupted bytes into a MessageDecodeError, never another error", () => {
    fc.assert(
      fc.property(
        anyMessage,
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        (message, cut, flips) => {
          const bytes = serializeMessage(message);
          const damaged = bytes.slice(0, bytes.length === 0 ? 0 : cut % bytes.length);
          for (const [at, value] of flips) {
            if (damaged.length > 0) damaged[at % damaged.length] = value;
          }
          try {
            decodeMessageBytes(damaged);
          } catch (error) {
            expect(isMessageDecodeError(error)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(() => decodeMessageBytes(Uint8Array.of(0x0a, 0x05, 0x6e))).toThrow(
      /^malformed raft message: expected a serialized RaftMessage, found 3 bytes that do not parse/,
    );
  });

  it("refuses to encode numbers the wire cannot carry, naming the field", () => {
    const bad = [
      [{ type: "heartbeat", from: "n1", to: "n2", term: -1, commit: 0, context: 0 }, "term"],
      [{ type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 1.5, context: 0 }, "commit"],
      [{ type: "readIndex", from: "n1", to: "n2", term: 1, context: 2 ** 60 }, "context"],
      [{ type: "timeoutNow", from: "", to: "n2", term: 1 }, "from"],
      [{ type: "gossip", from: "n1", to: "n2", term: 1 }, "type"],
    ] as const;
    for (const [message, field] of bad) {
      try {
        encodeMessage(message as unknown as Message);
        throw new Error(`expected ${field} to be refused`);
      } catch (error) {
        expect(isMessageEncodeError(error)).toBe(true);
        expect((error as { field: string }).field).toBe(field);
      }
    }
  });
});
