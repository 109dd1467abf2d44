import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ReadConsistency, ResourceService } from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./test-support/cluster.js";

const script = join(import.meta.dirname, "test-support/node-process.ts");
const id = (name: string) => ({
  name,
  type: { group: "demo", groupVersion: "v1", kind: "Artist" },
  tenancy: { partition: "default", namespace: "default" },
});

function spawnNode(flags: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=@raftstore/source", "--import", "tsx", script, JSON.stringify(flags)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (data: Buffer) => {
      if (data.toString().startsWith("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`node exited early with code ${code}`)));
  });
}

describe("a cluster of three node processes", () => {
  let dir: string;
  let ports: number[];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-procs-"));
    ports = [await freePort(), await freePort(), await freePort()];
    const initialCluster = ports.map((p, i) => `n${i + 1}=127.0.0.1:${p}`).join(",");
    children.push(
      ...(await Promise.all(
        ports.map((port, i) =>
          spawnNode({
            id: `n${i + 1}`,
            dataDir: join(dir, `n${i + 1}`),
            listen: `127.0.0.1:${port}`,
            initialCluster,
            tickMs: "20",
            logLevel: "warn",
          }),
        ),
      )),
    );
  });

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a write through any node and a strong read through another", async () => {
    const client = (i: number) =>
      createClient(
        ResourceService,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${ports[i]}` }),
      );
    let written: Awaited<ReturnType<ReturnType<typeof client>["write"]>> | undefined;
    for (let attempt = 0; written === undefined; attempt++) {
      written = await client(1)
        .write({ resource: { id: id("procs") } })
        .catch(async (error: unknown) => {
          if (attempt > 200) throw error;
          await new Promise((r) => setTimeout(r, 50));
          return undefined;
        });
    }
    const read = await client(2).read({ id: id("procs"), consistency: ReadConsistency.STRONG });
    expect(read.resource?.version).toBe(written.resource?.version);
    const status = await createClient(
      OperatorService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${ports[0]}` }),
    ).status({});
    expect(status.leader).not.toBe("");
  });

  it("stops every node gracefully on SIGTERM", async () => {
    const codes = await Promise.all(
      children.map(
        (child) =>
          new Promise<number | null>((resolve) => {
            child.once("exit", (code) => resolve(code));
            child.kill("SIGTERM");
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0]);
  });
});
