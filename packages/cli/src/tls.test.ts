import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createCertificateAuthority,
  createNodeCertificate,
} from "@raftstore/raft-transport/testing";
import { createLogger, loadConfig, type RaftstoreNode, startNode } from "@raftstore/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "./exit-codes.js";
import { freePort } from "./test-support/ports.js";
import { run } from "./test-support/run-cli.js";

let dir: string;
let node: RaftstoreNode;
let endpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-cli-tls-"));
  const ca = await createCertificateAuthority();
  const server = await createNodeCertificate(ca, "n1");
  const client = await createNodeCertificate(ca, "operator");
  const files = {
    "ca.pem": ca.cert,
    "n1.pem": server.cert,
    "n1-key.pem": server.key,
    "client.pem": client.cert,
    "client-key.pem": client.key,
  };
  for (const [name, pem] of Object.entries(files)) await writeFile(join(dir, name), pem);
  const port = await freePort();
  endpoint = `https://127.0.0.1:${port}`;
  node = await startNode(
    loadConfig({
      flags: {
        id: "n1",
        dataDir: join(dir, "n1"),
        listen: `127.0.0.1:${port}`,
        initialCluster: `n1=127.0.0.1:${port}`,
        tlsCert: join(dir, "n1.pem"),
        tlsKey: join(dir, "n1-key.pem"),
        tlsCa: join(dir, "ca.pem"),
      },
    }),
    { logger: createLogger("silent") },
  );
}, 30_000);

afterAll(async () => {
  await node?.close({ graceMs: 0 });
  await rm(dir, { recursive: true, force: true });
});

describe("client commands over mutual TLS", () => {
  it("write and read with the CA and a client certificate from flags or RAFTSTORE_TLS_*", async () => {
    const flags = ["--tls-ca", "ca.pem", "--tls-cert", "client.pem", "--tls-key", "client-key.pem"];
    let written = await run(["write", "demo.v1.Artist", "web", "--endpoint", endpoint, ...flags], {
      cwd: dir,
    });
    for (let attempt = 0; written.code === ExitCode.Unavailable && attempt < 100; attempt++) {
      // A single node elects itself within an election timeout of starting.
      await new Promise((resolve) => setTimeout(resolve, 50));
      written = await run(["write", "demo.v1.Artist", "web", "--endpoint", endpoint, ...flags], {
        cwd: dir,
      });
    }
    expect(written.stderr).toBe("");
    expect(written.code).toBe(ExitCode.Ok);
    const read = await run(["read", "demo.v1.Artist", "web"], {
      cwd: dir,
      env: {
        RAFTSTORE_ENDPOINT: endpoint.replace("https://", ""), // https is implied by the TLS settings
        RAFTSTORE_TLS_CA: join(dir, "ca.pem"),
        RAFTSTORE_TLS_CERT: join(dir, "client.pem"),
        RAFTSTORE_TLS_KEY: join(dir, "client-key.pem"),
      },
    });
    expect(read.code).toBe(ExitCode.Ok);
    expect(JSON.parse(read.stdout).id.name).toBe("web");
  });

  it("fails with a clear message without the CA or without a client certificate", async () => {
    const noCa = await run(["read", "demo.v1.Artist", "web", "--endpoint", endpoint], { cwd: dir });
    expect(noCa.code).not.toBe(ExitCode.Ok);
    expect(noCa.stderr).toMatch(/certificate/);
    expect(noCa.stderr).toContain("--tls-ca");
    expect(noCa.stderr).not.toContain("bug");
    const noCert = await run(
      ["read", "demo.v1.Artist", "web", "--endpoint", endpoint, "--tls-ca", "ca.pem"],
      { cwd: dir },
    );
    expect(noCert.code).toBe(ExitCode.Failure);
    expect(noCert.stderr).toMatch(
      /^raftstore read: the TLS handshake with https:\/\/127.0.0.1:\d+ failed \(.*certificate required/,
    );
    expect(noCert.stderr).toContain("--tls-cert and --tls-key");
    const cleartext = await run(
      ["read", "demo.v1.Artist", "web", "--endpoint", endpoint.replace("https", "http")],
      { cwd: dir },
    );
    expect(cleartext.code).toBe(ExitCode.Unavailable);
    expect(cleartext.stderr).toContain(
      "If the nodes use TLS, use an https:// endpoint with --tls-ca.",
    );
  });
});
