// What forwarding costs: a follower's write, strong read and failed read (an error crossing the
// wire) against a leader's in-memory target over a real loopback socket, next to the same
// operation called on the target directly. Prints one JSON document on stdout, progress on
// stderr. Run: node --conditions=@raftstore/source --import tsx src/bench/run.ts
// (from packages/forwarding). Figures are ratios measured in one run; absolute numbers move with
// the machine's load.
import * as net from "node:net";
import { availableParallelism } from "node:os";
import type { ID } from "@raftstore/proto";
import { ReadConsistency } from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { createForwardingClient } from "../client.js";
import { createForwardingServer } from "../server.js";
import { idOf, newResource } from "../test-support/fixtures.js";
import { createForwardingTransport } from "../transport.js";

const SEQUENTIAL = Number(process.env.FORWARDING_BENCH_SEQUENTIAL ?? 3000);
const CONCURRENT = Number(process.env.FORWARDING_BENCH_CONCURRENT ?? 20000);
const IN_FLIGHT = Number(process.env.FORWARDING_BENCH_IN_FLIGHT ?? 64);

interface Result {
  operations: number;
  opsPerSecond: number;
  p50Micros: number;
  p99Micros: number;
}

/** Runs `operation` `count` times one after another, timing each. */
async function sequential(count: number, operation: (i: number) => Promise<unknown>) {
  const latencies = new Float64Array(count);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await operation(i);
    latencies[i] = Number(process.hrtime.bigint() - t) / 1e3;
  }
  return summarize(count, started, latencies);
}

/** Runs `operation` `count` times with `inFlight` calls open at once. */
async function concurrent(
  count: number,
  inFlight: number,
  operation: (i: number) => Promise<unknown>,
) {
  const latencies = new Float64Array(count);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = process.hrtime.bigint();
        await operation(i);
        latencies[i] = Number(process.hrtime.bigint() - t) / 1e3;
      }
    }),
  );
  return summarize(count, started, latencies);
}

function summarize(count: number, started: bigint, latencies: Float64Array): Result {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sorted = latencies.slice().sort();
  const at = (q: number) => Math.round(sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0);
  return {
    operations: count,
    opsPerSecond: Math.round(count / seconds),
    p50Micros: at(0.5),
    p99Micros: at(0.99),
  };
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

async function main(): Promise<void> {
  const leader = new MemoryBackend();
  const server = createForwardingServer(leader);
  const listener = net.createServer((socket) => server.handleConnection(socket));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as net.AddressInfo;
  const toLeader = createForwardingTransport({ baseUrl: `http://127.0.0.1:${port}` });
  const client = createForwardingClient(toLeader.transport);

  const target = await leader.writeCAS(newResource("target"));
  const targetId = target.id as ID;
  const missing = idOf("missing");
  const notFound = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("expected NotFoundError");
      },
      () => undefined,
    );

  process.stderr.write("warming up\n");
  await sequential(500, (i) => client.writeCAS(newResource(`warm-${i}`)));
  await sequential(500, () => client.read(targetId));

  const results: Record<string, Result> = {};
  const step = async (name: string, run: () => Promise<Result>) => {
    process.stderr.write(`${name}\n`);
    results[name] = await run();
  };
  await step("direct write", () =>
    sequential(SEQUENTIAL, (i) => leader.writeCAS(newResource(`d-${i}`))),
  );
  await step("forwarded write", () =>
    sequential(SEQUENTIAL, (i) => client.writeCAS(newResource(`f-${i}`))),
  );
  await step("direct strong read", () =>
    sequential(SEQUENTIAL, () => leader.read(ReadConsistency.Strong, targetId)),
  );
  await step("forwarded strong read", () => sequential(SEQUENTIAL, () => client.read(targetId)));
  await step("forwarded read, NotFoundError", () =>
    sequential(SEQUENTIAL, () => notFound(client.read(missing))),
  );
  await step(`forwarded write, ${IN_FLIGHT} in flight`, () =>
    concurrent(CONCURRENT, IN_FLIGHT, (i) => client.writeCAS(newResource(`c-${i}`))),
  );
  await step(`forwarded strong read, ${IN_FLIGHT} in flight`, () =>
    concurrent(CONCURRENT, IN_FLIGHT, () => client.read(targetId)),
  );

  toLeader.close();
  await server.close();
  await new Promise((resolve) => listener.close(resolve));

  const get = (name: string) => results[name] as Result;
  process.stdout.write(
    `${JSON.stringify(
      {
        package: "@raftstore/forwarding",
        node: process.version,
        cpus: availableParallelism(),
        results,
        ratios: {
          forwardedOverDirectWriteLatencyP50: ratio(
            get("forwarded write").p50Micros,
            get("direct write").p50Micros,
          ),
          errorOverSuccessReadLatencyP50: ratio(
            get("forwarded read, NotFoundError").p50Micros,
            get("forwarded strong read").p50Micros,
          ),
          concurrentOverSequentialWriteThroughput: ratio(
            get(`forwarded write, ${IN_FLIGHT} in flight`).opsPerSecond,
            get("forwarded write").opsPerSecond,
          ),
        },
      },
      null,
      2,
    )}\n`,
  );
}

await main();
