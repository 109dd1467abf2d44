import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, loadConfig, type RaftstoreNode, startNode } from "@raftstore/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../exit-codes.js";
import type { StopRequest } from "../io.js";
import { freePort } from "../test-support/ports.js";
import { run } from "../test-support/run-cli.js";

let dir: string;
let blocker: Server | undefined;
let node: RaftstoreNode | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-cli-agent-"));
});
afterEach(async () => {
  blocker?.close();
  blocker = undefined;
  await node?.close({ graceMs: 0 });
  node = undefined;
  await rm(dir, { recursive: true, force: true });
});

function agentArgs(port: number, dataDir = join(dir, "n1")): string[] {
  return [
    "agent",
    "--id",
    "n1",
    "--data-dir",
    dataDir,
    "--listen",
    `127.0.0.1:${port}`,
    "--initial-cluster",
    `n1=127.0.0.1:${port}`,
    "--log-level",
    "silent",
  ];
}

async function ready(port: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("raftstore agent", () => {
  it("refuses a data directory another process has open, says what to do, exits 1", async () => {
    const port = await freePort();
    node = await startNode(
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
    const result = await run(agentArgs(await freePort()));
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toMatch(
      /^raftstore agent: cannot open data directory .*n1: another raftstore process is using .*n1\. Stop it first, or give this node its own --data-dir\./,
    );
  });

  it("refuses a directory that is not a data directory, and leaves it alone", async () => {
    const dataDir = join(dir, "documents");
    await mkdir(dataDir);
    await writeFile(join(dataDir, "notes.txt"), "mine");
    const result = await run(agentArgs(await freePort(), dataDir));
    expect(result.code).toBe(ExitCode.Failure);
    expect(result.stderr).toMatch(/^raftstore agent: cannot open data directory .*documents: /);
    expect(await readdir(dataDir)).toEqual(["notes.txt"]);
  });

  it("refuses a port in use, releases the data directory, and starts once the port is free", async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(port, "127.0.0.1", resolve));
    const refused = await run(agentArgs(port));
    expect(refused.code).toBe(ExitCode.Failure);
    expect(refused.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    expect(refused.stderr).toContain(
      "Another process is using the port: stop it, or choose another --listen.",
    );

    await new Promise<void>((resolve) => blocker?.close(() => resolve()));
    blocker = undefined;
    let stop: ((request: StopRequest) => void) | undefined;
    const running = run(agentArgs(port), {
      onStarted: (s) => {
        stop = s;
      },
    });
    await ready(port);
    stop?.("SIGTERM");
    const stopped = await running;
    expect(stopped.stderr).toBe("");
    expect(stopped.code).toBe(ExitCode.Ok);
  });

  it("reads settings from --config and RAFTSTORE_* variables, flags first", async () => {
    const result = await run(["agent", "--config", "/nonexistent/raftstore.json", "--id", "n1"], {
      env: { RAFTSTORE_ID: "ignored", RAFTSTORE_LISTEN: "127.0.0.1:notaport" },
    });
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain("config file /nonexistent/raftstore.json: ENOENT");
    expect(result.stderr).toContain(
      'RAFTSTORE_LISTEN: expected host:port (e.g. 127.0.0.1:7001), got "127.0.0.1:notaport"',
    );
    expect(result.stderr).not.toContain("--id (or RAFTSTORE_ID) is required");
  });

  it("says which RAFTSTORE_* variables it ignores, and what they may have meant", async () => {
    const port = await freePort();
    let stop: ((request: StopRequest) => void) | undefined;
    const running = run(agentArgs(port), {
      env: { RAFTSTORE_SNAPSHOT_THRESHHOLD: "5", RAFTSTORE_ENDPOINT: "http://127.0.0.1:7001" },
      onStarted: (s) => {
        stop = s;
      },
    });
    await ready(port);
    stop?.("SIGTERM");
    const stopped = await running;
    expect(stopped.code).toBe(ExitCode.Ok);
    expect(stopped.stderr).toBe(
      "raftstore agent: ignoring RAFTSTORE_SNAPSHOT_THRESHHOLD: no setting has that name (did you mean RAFTSTORE_SNAPSHOT_THRESHOLD?)\n",
    );
  });

  it("refuses an unknown --forwarding and names the choices", async () => {
    const result = await run(["agent", "--id", "n1", "--forwarding", "grpc"], {
      env: { RAFTSTORE_DATA_DIR: "/nonexistent" },
    });
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain('--forwarding: expected raft or rpc, got "grpc"');
  });
});
