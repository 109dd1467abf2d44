// `npm run bench -w @raftstore/cli`: what a `raftstore` invocation costs a script. One JSON
// document on stdout, progress on stderr. Figures are medians of one run, compared as ratios
// measured in the same run (the machine is shared, absolute times drift).
//
// - startup: `node dist/bin.js --version` against `node -e ""`: the price of loading the CLI;
// - read as a process: `node dist/bin.js read …` against a single local node: what a shell
//   script pays per command;
// - read in-process: `runCli(["read", …])` (new connection, parsing, JSON output each time)
//   against a direct client call on one kept connection: the CLI's own overhead per call.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PassThrough, Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ReadConsistency, ResourceService } from "@raftstore/proto";
import { createLogger, loadConfig, startNode } from "@raftstore/server";
import { runCli } from "../cli.js";
import type { CliIo } from "../io.js";
import { freePort } from "../test-support/ports.js";

const bin = join(import.meta.dirname, "..", "..", "dist", "bin.js");
const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Runs `node <args>` `runs` times, one after another; the wall time of each. Asynchronous:
 * the node under test lives in this process and must keep serving meanwhile. */
async function timeProcess(args: string[], runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, "close")) as [number | null];
    times.push(performance.now() - start);
    if (code !== 0) throw new Error(`node ${args.join(" ")} exited with ${code}: ${stderr}`);
  }
  return times;
}

function quietIo(endpoint: string): CliIo {
  const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
  return {
    stdout: sink(),
    stderr: sink(),
    stdin: new PassThrough(),
    env: { RAFTSTORE_ENDPOINT: endpoint },
    cwd: process.cwd(),
    selfCommand: "raftstore",
    onStop: () => () => {},
    exitNow: (code) => process.exit(code),
  };
}

if (!existsSync(bin)) {
  process.stderr.write(
    `bench: ${bin} is missing: build the CLI first (npx --no-install nx build @raftstore/cli)\n`,
  );
  process.exit(1);
}

const dir = await mkdtemp(join(tmpdir(), "raftstore-cli-bench-"));
const port = await freePort();
const endpoint = `http://127.0.0.1:${port}`;
const node = await startNode(
  loadConfig({
    flags: {
      id: "n1",
      dataDir: join(dir, "n1"),
      listen: `127.0.0.1:${port}`,
      initialCluster: `n1=127.0.0.1:${port}`,
    },
  }),
  { logger: createLogger("silent") },
);
try {
  while (!(await fetch(`${endpoint}/readyz`)).ok) await new Promise((r) => setTimeout(r, 20));
  const io = quietIo(endpoint);
  const written = await runCli(["write", "demo.v1.Bench", "b", "--metadata", "k=v"], io);
  if (written !== 0) throw new Error(`the setup write failed with exit code ${written}`);

  const processRuns = 15;
  progress(`startup: ${processRuns} × node dist/bin.js --version, ${processRuns} × node -e ""`);
  const baseline = await timeProcess(["-e", ""], processRuns);
  const startup = await timeProcess([bin, "--version"], processRuns);
  progress(`read as a process: ${processRuns} × node dist/bin.js read`);
  const processRead = await timeProcess(
    [bin, "read", "demo.v1.Bench", "b", "--endpoint", endpoint],
    processRuns,
  );

  const calls = 300;
  progress(`read in-process: ${calls} × runCli read, ${calls} × client.read`);
  const id = {
    name: "b",
    type: { group: "demo", groupVersion: "v1", kind: "Bench" },
    tenancy: { partition: "default", namespace: "default" },
  };
  const session = new Http2SessionManager(endpoint);
  const client = createClient(
    ResourceService,
    createGrpcTransport({ baseUrl: endpoint, sessionManager: session }),
  );
  const direct: number[] = [];
  const viaCli: number[] = [];
  for (let i = 0; i < 20; i++) {
    await client.read({ id, consistency: ReadConsistency.STRONG });
    await runCli(["read", "demo.v1.Bench", "b"], io);
  }
  // Interleaved, so that both see the same moments of a noisy machine.
  for (let i = 0; i < calls; i++) {
    let start = performance.now();
    await client.read({ id, consistency: ReadConsistency.STRONG });
    direct.push(performance.now() - start);
    start = performance.now();
    const code = await runCli(["read", "demo.v1.Bench", "b"], io);
    viaCli.push(performance.now() - start);
    if (code !== 0) throw new Error(`runCli read exited with ${code}`);
  }
  session.abort();

  const report = {
    package: "@raftstore/cli",
    machine: { node: process.version, cpus: cpus().length, platform: process.platform },
    startup: {
      runs: processRuns,
      cliVersionMs: round(median(startup)),
      nodeBaselineMs: round(median(baseline)),
      ratio: round(median(startup) / median(baseline)),
    },
    readAsProcess: {
      runs: processRuns,
      medianMs: round(median(processRead)),
      ratioToStartup: round(median(processRead) / median(startup)),
    },
    readInProcess: {
      calls,
      runCliMedianMs: round(median(viaCli)),
      runCliP99Ms: round(percentile(viaCli, 0.99)),
      clientMedianMs: round(median(direct)),
      clientP99Ms: round(percentile(direct, 0.99)),
      ratio: round(median(viaCli) / median(direct)),
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await node.close({ graceMs: 0 });
  await rm(dir, { recursive: true, force: true });
}
