import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  EncodedRaftMessagesSchema,
  InstallSnapshotRequestSchema,
  RaftMessageSchema,
  RaftService,
  SendMessagesRequestSchema,
} from "@raftstore/proto/raft/v1";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "./decode-message.js";
import { encodeMessage } from "./encode-message.js";
import { anyMessage, snapshotChunk } from "./test-support/messages.js";
import { framedSize, installSnapshotMethod, sendMessagesMethod } from "./wire-format.js";

describe("the wire format", () => {
  it("writes batches that typed SendMessagesRequest readers parse message for message", () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { maxLength: 8 }), (messages) => {
        const encoded = messages.map((m) => toBinary(RaftMessageSchema, encodeMessage(m)));
        const request = toBinary(
          EncodedRaftMessagesSchema,
          create(EncodedRaftMessagesSchema, { messages: encoded }),
        );
        const typed = fromBinary(SendMessagesRequestSchema, request);
        expect(typed.messages.map(decodeMessage)).toEqual(messages);
        expect(request.length).toBe(encoded.reduce((sum, m) => sum + framedSize(m.length), 0));
      }),
      { numRuns: 300 },
    );
  });

  it("writes one chunk exactly as a typed InstallSnapshotRequest", () => {
    const chunk = snapshotChunk("n1", "n2", 0, 2, 1000);
    const encoded = toBinary(RaftMessageSchema, encodeMessage(chunk));
    const request = toBinary(
      EncodedRaftMessagesSchema,
      create(EncodedRaftMessagesSchema, { messages: [encoded] }),
    );
    const typed = fromBinary(InstallSnapshotRequestSchema, request);
    expect(typed.chunk === undefined ? undefined : decodeMessage(typed.chunk)).toEqual(chunk);
  });

  it("serves the methods at RaftService's paths", () => {
    expect(sendMessagesMethod.name).toBe("SendMessages");
    expect(installSnapshotMethod.name).toBe("InstallSnapshot");
    expect(sendMessagesMethod.parent).toBe(RaftService);
    expect(sendMessagesMethod.methodKind).toBe("client_streaming");
    expect(installSnapshotMethod.output).toBe(RaftService.method.installSnapshot.output);
  });

  it("counts the tag and the varint length in a message's framed size", () => {
    expect(framedSize(0)).toBe(2);
    expect(framedSize(127)).toBe(129);
    expect(framedSize(128)).toBe(131);
    expect(framedSize(16_383)).toBe(16_386);
    expect(framedSize(16_384)).toBe(16_388);
    expect(framedSize(4 << 20)).toBe((4 << 20) + 5);
  });
});
