import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { ReadResponseSchema, WatchListRequestSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { encodeFrame, encodeMessageFrame } from "./grpc-wire.js";
import { newResource } from "./test-support/fixtures.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("encodeMessageFrame", () => {
  it("frames a message as encodeFrame does, written straight into pooled memory that was not clean", () => {
    const resource = {
      ...newResource("a"),
      version: "17",
      data: create(AnySchema, { typeUrl: "t", value: new Uint8Array(300) }),
    };
    const messages = [
      // Resource messages are written by hand; the others by protobuf-es, then framed.
      [ReadResponseSchema, create(ReadResponseSchema, { resource })],
      [ReadResponseSchema, create(ReadResponseSchema, {})],
      [WatchListRequestSchema, create(WatchListRequestSchema, { namePrefix: "é" })],
    ] as const;
    for (const [schema, message] of messages) {
      Buffer.allocUnsafe(4000).fill(0xff);
      const frame = encodeMessageFrame(schema, message as never);
      expect(hex(frame)).toBe(hex(encodeFrame(toBinary(schema, message as never))));
      expect(frame[0]).toBe(0);
      expect(frame.readUInt32BE(1)).toBe(frame.byteLength - 5);
    }
  });

  it("writes a frame that is kept into memory of its own, whatever encodes the message", () => {
    const messages = [
      [ReadResponseSchema, create(ReadResponseSchema, { resource: { version: "3" } })],
      [WatchListRequestSchema, create(WatchListRequestSchema, { namePrefix: "é" })],
    ] as const;
    for (const [schema, message] of messages) {
      const frame = encodeMessageFrame(schema, message as never, Buffer.allocUnsafeSlow);
      expect(frame.buffer.byteLength).toBe(frame.byteLength);
      expect(hex(frame)).toBe(hex(encodeFrame(toBinary(schema, message as never))));
      const pooled = encodeMessageFrame(schema, message as never);
      expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    }
  });
});
