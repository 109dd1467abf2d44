// npm run bench -w @raftstore/storage
//
// What writing a resource to protobuf binary, and reading it back, costs: protobuf-es's
// `toBinary` and `fromBinary` against `toBinaryFast` and `fromBinaryFast`, for a resource as the cluster benchmarks store it (a 26-character uid,
// default tenancy, a 256-byte value in an Any) in a ReadResponse, and for a Raft log entry
// carrying it. Prints one JSON document; compare the ratios, not the absolute times.
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { ReadResponseSchema, ResourceSchema } from "@raftstore/proto";
import { LogSchema, LogType } from "@raftstore/proto/storage/v1";
import { toBinaryFast } from "../resource-binary.js";
import { fromBinaryFast } from "../resource-binary-read.js";

const resource = create(ResourceSchema, {
  id: {
    uid: "01JDQ3Z5X6Y7Z8A9B0C1D2E3F4",
    name: "key-000123",
    type: { group: "bench", groupVersion: "v1", kind: "Value" },
    tenancy: { partition: "default", namespace: "default" },
  },
  version: "123456",
  generation: "01JDQ3Z5X6Y7Z8A9B0C1D2E3F5",
  data: {
    typeUrl: "type.googleapis.com/google.protobuf.BytesValue",
    value: new Uint8Array(256).fill(7),
  },
});
const messages: Array<[string, DescMessage, MessageShape<DescMessage>]> = [
  ["ReadResponse", ReadResponseSchema, create(ReadResponseSchema, { resource })],
  [
    "Log (write)",
    LogSchema,
    create(LogSchema, { type: LogType.WRITE, request: { case: "write", value: { resource } } }),
  ],
];

/** Microseconds per call, over `n` calls after a warm-up. */
function time(encode: () => unknown, n = 100_000): number {
  for (let i = 0; i < 10_000; i++) encode();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) encode();
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

const results: Record<string, unknown> = {};
for (const [name, schema, message] of messages) {
  const bytes = toBinary(schema, message);
  const write = time(() => toBinary(schema, message));
  const writeFast = time(() => toBinaryFast(schema, message));
  // Into pooled memory, as the servers write an answer: without the cost of a new backing store.
  const writePooled = time(() => toBinaryFast(schema, message, (n) => Buffer.allocUnsafe(n)));
  const read = time(() => fromBinary(schema, bytes));
  const readFast = time(() => fromBinaryFast(schema, bytes));
  const micros = (us: number) => Math.round(us * 100) / 100;
  results[name] = {
    bytes: bytes.byteLength,
    toBinaryMicros: micros(write),
    toBinaryFastMicros: micros(writeFast),
    toBinaryFastPooledMicros: micros(writePooled),
    writeSpeedup: Math.round((write / writeFast) * 10) / 10,
    fromBinaryMicros: micros(read),
    fromBinaryFastMicros: micros(readFast),
    readSpeedup: Math.round((read / readFast) * 10) / 10,
  };
}
process.stdout.write(
  `${JSON.stringify({ package: "@raftstore/storage", node: process.version, results }, null, 2)}\n`,
);
