import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RaftMessageSchema } from "@raftstore/proto/raft/v1";
import { EntryType, type Message } from "@raftstore/raft";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeHot } from "./decode-hot.js";
import {
  decodeMessage,
  decodeMessageBytes,
  decodeMessageBytesReflective,
} from "./decode-message.js";
import { encodeMessage } from "./encode-message.js";
import { isMessageEncodeError } from "./errors.js";
import { isHotMessage } from "./serialize-hot.js";
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

describe("the hand-written serializer of append, heartbeat and their responses", () => {
  const hot = anyMessage.filter(isHotMessage);
  const unicodeIds = fc.record({
    from: fc.string({ minLength: 1, maxLength: 8, unit: "binary" }),
    to: fc.string({ minLength: 1, maxLength: 8, unit: "binary" }),
  });

  it("writes exactly the bytes protobuf-es writes", () => {
    fc.assert(
      fc.property(hot, unicodeIds, fc.boolean(), (message, ids, unicode) => {
        const m = unicode ? { ...message, ...ids } : message;
        const expected = toBinary(RaftMessageSchema, encodeMessage(m));
        expect(Buffer.from(serializeMessage(m)).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses what encodeMessage refuses, with the same error", () => {
    const bad = fc.constantFrom<unknown>(-1, 1.5, 2 ** 60, Number.NaN, "7", undefined, "", true);
    fc.assert(
      fc.property(hot, fc.nat(), bad, (message, pick, value) => {
        // Spoil one field (or one field of one entry) of the message.
        const spoiled: Record<string, unknown> = { ...message };
        const keys = Object.keys(message).filter((k) => k !== "type");
        const key = keys[pick % keys.length] as string;
        const entries = (message as { entries?: Array<Record<string, unknown>> }).entries;
        if (key === "entries" && entries !== undefined && entries.length > 0) {
          const i = pick % entries.length;
          const fields = Object.keys(entries[i] as object);
          const field = fields[pick % fields.length] as string;
          spoiled.entries = entries.map((e, j) => (j === i ? { ...e, [field]: value } : e));
        } else {
          spoiled[key] = value;
        }
        let expected: unknown;
        try {
          encodeMessage(spoiled as never);
        } catch (error) {
          expected = error;
        }
        let actual: unknown;
        try {
          serializeMessage(spoiled as never);
        } catch (error) {
          actual = error;
        }
        expect(String(actual)).toBe(String(expected));
        if (expected !== undefined) expect(isMessageEncodeError(actual)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the hand-written decoder of append, heartbeat and their responses", () => {
  const hot = anyMessage.filter(isHotMessage);

  /** What decoding gives: the message, or the error's text. */
  const outcome = (decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array) => {
    try {
      return { message: decode(bytes) };
    } catch (error) {
      return { error: String(error) };
    }
  };

  it("reads every hot message serializeMessage writes, without protobuf-es", () => {
    fc.assert(
      fc.property(hot, (message) => {
        const bytes = serializeMessage(message);
        const ascii = [...(message.from + message.to)].every((c) => c.charCodeAt(0) < 0x80);
        const fast = decodeHot(bytes);
        if (ascii) expect(fast).toEqual(message);
        expect(decodeMessageBytes(bytes)).toEqual(message);
      }),
      { numRuns: 2000 },
    );
  });

  it("never takes a field of an entry from the entry after it (proposed entries without data)", () => {
    // Propose.entries and ProposedEntry.data are both field 2, length-delimited: the same tag
    // byte. An entry without data ends where the next entry's tag begins.
    const entry = { type: EntryType.Normal, data: new Uint8Array(0), checksum: 0 };
    const message: Message = {
      type: "propose",
      from: "n2",
      to: "n1",
      term: 3,
      context: 7,
      entries: [entry, entry, { ...entry, data: Uint8Array.of(1, 2) }],
    };
    expect(decodeHot(serializeMessage(message))).toEqual(message);
  });

  it("gives what protobuf-es gives for any damage: a flipped byte, a cut, an insertion", () => {
    const damaged = fc
      .tuple(
        hot,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom("flip", "cut", "insert"),
      )
      .map(([message, at, value, how]) => {
        const bytes = Buffer.from(serializeMessage(message));
        const i = at % (bytes.length + 1);
        if (how === "cut") return bytes.subarray(0, i);
        if (how === "insert")
          return Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)]);
        if (i < bytes.length) bytes[i] = (bytes[i] as number) ^ value;
        return bytes;
      });
    fc.assert(
      fc.property(damaged, (bytes) => {
        expect(outcome(decodeMessageBytes, bytes)).toEqual(
          outcome(decodeMessageBytesReflective, bytes),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("leaves every other message type to protobuf-es", () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const bytes = serializeMessage(message);
        if (!isHotMessage(message)) expect(decodeHot(bytes)).toBeUndefined();
        expect(decodeMessageBytes(bytes)).toEqual(decodeMessageBytesReflective(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
