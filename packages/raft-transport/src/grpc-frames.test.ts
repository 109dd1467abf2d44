import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EncodedRaftMessagesSchema } from "@raftstore/proto/raft/v1";
import { describe, expect, it } from "vitest";
import { decodeRequestPayload, encodeRequestFrame, FrameReader } from "./grpc-frames.js";
import { grpcFrame } from "./test-support/raw-client.js";
import { framedSize, writeVarint } from "./wire-format.js";

// The framing of the lean receive path, checked against what it stands in for: connect's
// envelope reader for FrameReader, and protobuf-es's `fromBinary` for decodeRequestPayload.
// Random inputs come from a seeded PRNG, so a failure reproduces on every run.

/** mulberry32: a tiny seeded PRNG, uniform in [0, 2^32). */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const below = (n: number) => next() % n;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => below(256));
  return { below, bytes };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What a decoder gives: its messages (as hex), or its error. */
function outcome(decode: (payload: Uint8Array) => readonly Uint8Array[], payload: Uint8Array) {
  try {
    return { messages: decode(payload).map(hex) };
  } catch (error) {
    return { error };
  }
}

describe("FrameReader", () => {
  const random = prng(1);
  const payloads = [0, 1, 7, 300, 0, 4].map((n) => random.bytes(n));
  const frames = payloads.map((p) => grpcFrame(p));
  const body = concat(...frames);
  /** Where each frame ends in `body`, and 0. */
  const boundaries = [0];
  for (const frame of frames) boundaries.push((boundaries.at(-1) as number) + frame.length);

  /** Feeds `chunks` in order; the payloads, and partialBytes after each chunk. */
  function read(chunks: readonly Uint8Array[]) {
    const reader = new FrameReader(1 << 20);
    const out: string[] = [];
    const partial: number[] = [];
    for (const chunk of chunks) {
      out.push(...reader.push(chunk).map(hex));
      partial.push(reader.partialBytes);
    }
    return { payloads: out, partial };
  }

  it("gives the same payloads wherever the body is cut in two, and counts the bytes of the cut frame", () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const { payloads: got, partial } = read([body.subarray(0, cut), body.subarray(cut)]);
      expect(got).toEqual(payloads.map(hex));
      const frameStart = Math.max(...boundaries.filter((b) => b <= cut));
      expect(partial).toEqual([cut - frameStart, 0]);
    }
  });

  it("gives the same payloads when the body arrives byte by byte, or in random chunks", () => {
    expect(read([...body].map((b) => Uint8Array.of(b))).payloads).toEqual(payloads.map(hex));
    for (let run = 0; run < 200; run++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < body.length; ) {
        const size = random.below(40);
        chunks.push(body.subarray(at, at + size));
        at += size;
      }
      const { payloads: got, partial } = read(chunks);
      expect(got).toEqual(payloads.map(hex));
      expect(partial.at(-1)).toBe(0);
    }
  });

  it("reads a frame split across chunks once its last byte arrives, and a zero-length frame at once", () => {
    const reader = new FrameReader(1 << 20);
    const frame = grpcFrame(Uint8Array.of(1, 2, 3, 4));
    expect(reader.push(frame.subarray(0, 3))).toEqual([]);
    expect(reader.partialBytes).toBe(3);
    expect(reader.push(frame.subarray(3, 7))).toEqual([]);
    expect(reader.partialBytes).toBe(7);
    // The rest of the frame and a whole empty one, in one chunk.
    const got = reader.push(concat(frame.subarray(7), grpcFrame(new Uint8Array(0))));
    expect(got.map(hex)).toEqual(["01020304", ""]);
    expect(reader.partialBytes).toBe(0);
  });

  it("refuses a frame over readMaxBytes at its header, before any of its body arrives", () => {
    const reader = new FrameReader(100);
    // Exactly the limit is fine: the reader waits for the body.
    expect(reader.push(grpcFrame(new Uint8Array(0), 100))).toEqual([]);
    expect(reader.partialBytes).toBe(5);
    const header = grpcFrame(new Uint8Array(0), 101);
    for (const chunks of [[header], [header.subarray(0, 2), header.subarray(2)]]) {
      const fresh = new FrameReader(100);
      const error = thrown(() => {
        for (const chunk of chunks) fresh.push(chunk);
      });
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((error as ConnectError).rawMessage).toBe(
        "message size 101 is larger than configured readMaxBytes 100",
      );
    }
  });

  it("refuses a compressed frame with Internal and other flags with InvalidArgument, at the header", () => {
    for (const [flags, code] of [
      [1, Code.Internal],
      [2, Code.InvalidArgument],
      [0x80, Code.InvalidArgument],
    ] as const) {
      const frame = grpcFrame(Uint8Array.of(0x0a, 0x00));
      frame[0] = flags;
      // After a good frame in the same chunk, and with only the header of the bad one.
      const error = thrown(() =>
        new FrameReader(1 << 20).push(concat(grpcFrame(new Uint8Array(0)), frame.subarray(0, 5))),
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(code);
    }
  });
});

describe("decodeRequestPayload", () => {
  const reference = (payload: Uint8Array) =>
    fromBinary(EncodedRaftMessagesSchema, payload).messages;

  /** Decodes `payload` both ways and checks they agree: same messages, or the same failure. */
  function expectSameAsProtobuf(payload: Uint8Array) {
    const expected = outcome(reference, payload);
    const actual = outcome(decodeRequestPayload, payload);
    if ("messages" in expected) {
      expect(actual, `payload ${hex(payload)}`).toEqual(expected);
      return;
    }
    const error = actual.error;
    expect(error, `payload ${hex(payload)}`).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Internal);
    // The inbound path recognises an unparsable request by this prefix (inbound.ts).
    expect((error as ConnectError).rawMessage).toBe(
      `parse binary: ${(expected.error as Error).message}`,
    );
  }

  /** Random messages: mostly short, some empty, some with 2- and 3-byte length varints. */
  function randomMessages(random: ReturnType<typeof prng>, max = 6, cap = 20_000): Uint8Array[] {
    const sizes = [0, 1, 20, 127, 128, 300, 16_383, 16_384, 20_000].map((n) => Math.min(n, cap));
    return Array.from({ length: random.below(max + 1) }, () => {
      const pick = random.below(12);
      return random.bytes(pick < sizes.length ? (sizes[pick] as number) : random.below(60));
    });
  }

  function payloadOf(messages: readonly Uint8Array[]): Uint8Array {
    const size = messages.reduce((sum, m) => sum + framedSize(m.length), 0);
    return encodeRequestFrame(messages, size).subarray(5);
  }

  /** A field the schema does not know (number 2 to 2000), of a random wire type. */
  function unknownField(random: ReturnType<typeof prng>): Uint8Array {
    const field = 2 + random.below(1999);
    const wireType = [0, 1, 2, 5][random.below(4)] as number;
    const out = new Uint8Array(32);
    let at = writeVarint(out, 0, field * 8 + wireType);
    if (wireType === 0) at = writeVarint(out, at, random.below(2 ** 31) * random.below(5000));
    if (wireType === 1) at += 8;
    if (wireType === 5) at += 4;
    if (wireType !== 2) return out.slice(0, at);
    const value = random.bytes(random.below(20));
    at = writeVarint(out, at, value.length);
    return concat(out.subarray(0, at), value);
  }

  it("reads what encodeRequestFrame writes as protobuf-es does, as views into the payload", () => {
    const random = prng(2);
    for (let run = 0; run < 300; run++) {
      const messages = randomMessages(random);
      const payload = payloadOf(messages);
      expectSameAsProtobuf(payload);
      const decoded = decodeRequestPayload(payload);
      expect(decoded.map(hex)).toEqual(messages.map(hex));
      expect(decoded.every((m) => m.buffer === payload.buffer)).toBe(true);
    }
  });

  it("reads payloads with unknown fields of every wire type mixed in as protobuf-es does", () => {
    const random = prng(3);
    for (let run = 0; run < 300; run++) {
      const messages = randomMessages(random);
      const parts: Uint8Array[] = [];
      for (const message of [...messages, undefined]) {
        while (random.below(3) === 0) parts.push(unknownField(random));
        if (message !== undefined) parts.push(payloadOf([message]));
      }
      const payload = concat(...parts);
      expectSameAsProtobuf(payload);
      expect(decodeRequestPayload(payload).map(hex)).toEqual(messages.map(hex));
    }
  });

  it("agrees with protobuf-es on unusual but valid encodings of field 1", () => {
    const cases = [
      // A zero length in two bytes, and a length of 3 in five (longer than the fast path reads).
      [0x0a, 0x80, 0x00],
      [0x0a, 0x83, 0x80, 0x80, 0x80, 0x00, 1, 2, 3],
      // A five-byte length whose last byte, were the length read as four, would start the
      // message, and the rest (a field 2 and a field 3) read as another field-1 message.
      [0x0a, 0x81, 0x80, 0x80, 0x80, 0x00, 0x0a, 0x10, 0x00, 0x1a, 0x0d, ...new Array(13).fill(7)],
      // Field 1's tag as a two-byte varint.
      [0x8a, 0x00, 0x01, 0x07],
      // Field 1 with the wrong wire type, and a length varint that never ends.
      [0x08, 0x01],
      [0x0a, 0xff, 0xff, 0xff, 0xff],
      [0x0a, 0xff, 0xff, 0xff, 0x7f],
      [0x0a],
    ];
    for (const bytes of cases) expectSameAsProtobuf(Uint8Array.from(bytes));
  });

  it("gives what protobuf-es gives for any damage: a flipped byte, a cut, an insertion", () => {
    const random = prng(4);
    let failures = 0;
    for (let run = 0; run < 5000; run++) {
      const messages = randomMessages(random, 3, 200);
      const parts = messages.map((m) => payloadOf([m]));
      if (random.below(2) === 0)
        parts.splice(random.below(parts.length + 1), 0, unknownField(random));
      const bytes = concat(...parts);
      const i = random.below(bytes.length + 1);
      const how = random.below(3);
      let damaged: Uint8Array;
      if (how === 0) damaged = bytes.subarray(0, i);
      else if (how === 1)
        damaged = concat(bytes.subarray(0, i), random.bytes(1), bytes.subarray(i));
      else {
        damaged = bytes.slice();
        if (i < damaged.length) damaged[i] = (damaged[i] as number) ^ (1 + random.below(255));
      }
      expectSameAsProtobuf(damaged);
      if (thrown(() => reference(damaged)) !== undefined) failures++;
    }
    // The damage reaches both outcomes: many payloads still parse, many do not.
    expect(failures).toBeGreaterThan(500);
    expect(failures).toBeLessThan(4500);
  });
});

describe("encodeRequestFrame", () => {
  it("writes one uncompressed frame whose length is the size and whose payload parses to the messages", () => {
    const random = prng(5);
    const sets = [
      [],
      [new Uint8Array(0)],
      [random.bytes(127), random.bytes(128)],
      [random.bytes(70_000)],
    ];
    for (const messages of sets) {
      const size = messages.reduce((sum, m) => sum + framedSize(m.length), 0);
      // Small frames are carved from Node's shared pool, whose memory is not zeroed: dirty it.
      Buffer.allocUnsafe(4000).fill(0xff);
      const frame = encodeRequestFrame(messages, size);
      expect(frame.constructor).toBe(Uint8Array);
      expect(frame.length).toBe(5 + size);
      expect(frame[0]).toBe(0);
      expect(new DataView(frame.buffer, frame.byteOffset).getUint32(1)).toBe(size);
      expect(fromBinary(EncodedRaftMessagesSchema, frame.subarray(5)).messages.map(hex)).toEqual(
        messages.map(hex),
      );
    }
  });

  it("throws a RangeError when the size is not the sum of the framed sizes", () => {
    const messages = [Uint8Array.of(1, 2, 3), new Uint8Array(0)];
    const size = framedSize(3) + framedSize(0);
    for (const wrong of [0, size - 1, size + 1, size + 100]) {
      expect(() => encodeRequestFrame(messages, wrong)).toThrow(RangeError);
    }
    expect(() => encodeRequestFrame([], 1)).toThrow(RangeError);
  });
});
