import { equals, fromBinary } from "@bufbuild/protobuf";
import { RaftMessageSchema } from "@raftstore/proto/raft/v1";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode-message.js";
import { encodeMessage } from "./encode-message.js";
import { isMessageEncodeError } from "./errors.js";
import { serializeMessage } from "./serialize-message.js";
import { anyMessage, snapshotChunk } from "./test-support/messages.js";

describe("serializing a message for the wire", () => {
  it("writes bytes any protobuf parser reads as the message's RaftMessage", () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const parsed = fromBinary(RaftMessageSchema, serializeMessage(message));
        expect(equals(RaftMessageSchema, parsed, encodeMessage(message))).toBe(true);
        expect(decodeMessage(parsed)).toEqual(message);
      }),
      { numRuns: 1000 },
    );
  });

  it("writes large snapshot chunks intact, with lengths over several varint bytes", () => {
    for (const size of [0, 1, 127, 128, 16_384, 1 << 20]) {
      const chunk = snapshotChunk("n1", "n2", 2, 4, size);
      const decoded = decodeMessage(fromBinary(RaftMessageSchema, serializeMessage(chunk)));
      expect(decoded.type === "snapshotChunk" && Buffer.from(decoded.data).equals(chunk.data)).toBe(
        true,
      );
      expect({ ...decoded, data: undefined }).toEqual({ ...chunk, data: undefined });
    }
  });

  it("refuses a chunk with a field the wire cannot carry, as encodeMessage does", () => {
    const chunk = { ...snapshotChunk("n1", "n2", 0, 1, 10), offset: -1 };
    expect(() => serializeMessage(chunk)).toThrow(/offset/);
    try {
      serializeMessage(chunk);
    } catch (error) {
      expect(isMessageEncodeError(error)).toBe(true);
    }
  });
});
