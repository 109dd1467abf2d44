// The codec's throughput on 100k and 1M small resources (about 400 bytes each): encode and
// decode, in MB/s (10^6 bytes of snapshot) and resources/s, both for Resource messages (the
// whole path, protobuf-es included) and for resources already encoded as protobuf (the raw
// codec: framing and checksums alone). Prints one JSON document on stdout, progress on stderr.
//
//   npm run bench -w @raftstore/snapshot
//   SNAPSHOT_BENCH_SIZES=10000 npm run bench -w @raftstore/snapshot   (a quick run)
import { availableParallelism } from "node:os";
import { toBinary } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { decodeRawSnapshot, decodeSnapshot } from "../decode.js";
import { encodeRawSnapshot, encodeSnapshot } from "../encode.js";
import { sampleResource } from "../test-support/resources.js";

const SIZES = (process.env.SNAPSHOT_BENCH_SIZES ?? "100000,1000000").split(",").map(Number);
// Small sizes are measured several times and the median reported; 1M takes minutes per run.
const runsFor = (count: number) => (count <= 100_000 ? 3 : 1);
const HEADER = { index: 1_000_000n, term: 7n, createdAt: new Date(1_700_000_000_000) };

// Resources are made once and cycled through, so that making them is not what is measured.
const pool = Array.from({ length: 10_000 }, (_, i) => sampleResource(i));
const encodedPool = pool.map((r) => toBinary(ResourceSchema, r));

function* cycle<T>(items: readonly T[], count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield items[i % items.length] as T;
}

async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function drain(items: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _item of items) n++;
  return n;
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function rates(count: number, bytes: number, runs: number[]) {
  const s = median(runs);
  return {
    seconds: Number(s.toFixed(3)),
    mbPerSecond: Number((bytes / 1e6 / s).toFixed(1)),
    resourcesPerSecond: Math.round(count / s),
  };
}

const results = [];
for (const count of SIZES) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of encodeSnapshot(HEADER, cycle(pool, count))) chunks.push(chunk);
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const times = { encode: [] as number[], decode: [] as number[] };
  const rawTimes = { encode: [] as number[], decode: [] as number[] };
  const runs = runsFor(count);
  for (let run = 1; run <= runs; run++) {
    times.encode.push(await seconds(() => drain(encodeSnapshot(HEADER, cycle(pool, count)))));
    times.decode.push(
      await seconds(async () => {
        const decoded = await drain(decodeSnapshot(replay(chunks)));
        if (decoded !== count) throw new Error(`decoded ${decoded} resources of ${count}`);
      }),
    );
    rawTimes.encode.push(
      await seconds(() => drain(encodeRawSnapshot(HEADER, cycle<Uint8Array>(encodedPool, count)))),
    );
    rawTimes.decode.push(await seconds(() => drain(decodeRawSnapshot(replay(chunks)))));
    process.stderr.write(
      `${count} resources, run ${run}/${runs}: encode ${times.encode.at(-1)?.toFixed(2)} s, ` +
        `decode ${times.decode.at(-1)?.toFixed(2)} s, raw encode ` +
        `${rawTimes.encode.at(-1)?.toFixed(2)} s, raw decode ${rawTimes.decode.at(-1)?.toFixed(2)} s\n`,
    );
  }
  results.push({
    resources: count,
    snapshotBytes: bytes,
    bytesPerResource: Math.round(bytes / count),
    runs,
    encode: rates(count, bytes, times.encode),
    decode: rates(count, bytes, times.decode),
    rawEncode: rates(count, bytes, rawTimes.encode),
    rawDecode: rates(count, bytes, rawTimes.decode),
  });
}

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "@raftstore/snapshot codec",
      node: process.version,
      cpus: availableParallelism(),
      statistic: "median of runs",
      results,
    },
    null,
    2,
  )}\n`,
);
