import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { ReadConsistency } from "@raftstore/proto";
import {
  createCertificateAuthority,
  createNodeCertificate,
} from "@raftstore/raft-transport/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "./test-support/cluster.js";

const id = (name: string) => ({
  name,
  type: { group: "demo", groupVersion: "v1", kind: "Artist" },
  tenancy: { partition: "default", namespace: "default" },
});

describe("a cluster with mutual TLS", () => {
  let dir: string;
  let cluster: TestCluster;
  let ca: { cert: string; key: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "raftstore-tls-"));
    ca = await createCertificateAuthority();
    await writeFile(join(dir, "ca.pem"), ca.cert);
    for (const node of ["n1", "n2", "n3"]) {
      const pair = await createNodeCertificate(ca, node);
      await writeFile(join(dir, `${node}.pem`), pair.cert);
      await writeFile(join(dir, `${node}-key.pem`), pair.key);
    }
    const client = await createNodeCertificate(ca, "operator");
    cluster = await startTestCluster({
      tls: (i) => ({
        tlsCert: join(dir, `n${i + 1}.pem`),
        tlsKey: join(dir, `n${i + 1}-key.pem`),
        tlsCa: join(dir, "ca.pem"),
      }),
      clientTls: {
        ca: Buffer.from(ca.cert),
        cert: Buffer.from(client.cert),
        key: Buffer.from(client.key),
      },
    });
  });

  afterAll(async () => {
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("replicates and forwards over TLS, for clients with a certificate the CA signed", async () => {
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    let written: Awaited<ReturnType<ReturnType<TestCluster["client"]>["write"]>> | undefined;
    for (let attempt = 0; written === undefined; attempt++) {
      written = await cluster
        .client(follower)
        .write({ resource: { id: id("secure") } })
        .catch((error: unknown) => {
          if (attempt > 100) throw error;
          return undefined;
        });
    }
    const read = await cluster
      .client((leader + 2) % 3)
      .read({ id: id("secure"), consistency: ReadConsistency.STRONG });
    expect(read.resource?.version).toBe(written.resource?.version);
  });

  /** Whether a TLS client with these options completes a handshake and gets an answer. */
  async function answered(options: tls.ConnectionOptions): Promise<boolean> {
    const [host, port] = (cluster.configs[0]?.listen ?? "").split(":");
    return new Promise((resolve) => {
      const socket = tls.connect({
        host,
        port: Number(port),
        ALPNProtocols: ["http/1.1"],
        ...options,
      });
      socket.on("secureConnect", () => socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"));
      socket.on("data", (data) => {
        resolve(data.toString().startsWith("HTTP/1.1 200"));
        socket.destroy();
      });
      socket.on("error", () => resolve(false));
      socket.on("close", () => resolve(false));
    });
  }

  it("answers a client whose certificate the CA signed, over HTTP/1.1 too", async () => {
    const client = await createNodeCertificate(ca, "operator");
    expect(
      await answered({ ca: ca.cert, cert: client.cert, key: client.key, servername: "n1" }),
    ).toBe(true);
  });

  it("refuses a client without a certificate, and one signed by another CA", async () => {
    expect(await answered({ ca: ca.cert, servername: "n1" })).toBe(false);
    const otherCa = await createCertificateAuthority("another CA");
    const stranger = await createNodeCertificate(otherCa, "n1");
    expect(
      await answered({ ca: ca.cert, cert: stranger.cert, key: stranger.key, servername: "n1" }),
    ).toBe(false);
  });

  it("refuses cleartext connections on the TLS port", async () => {
    const [host, port] = (cluster.configs[0]?.listen ?? "").split(":");
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect({ host, port: Number(port) }, () =>
        socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (data) => {
        text += data.toString();
      });
      socket.on("error", () => resolve(text));
      socket.on("close", () => resolve(text));
    });
    expect(reply.startsWith("HTTP/1.1 200")).toBe(false);
  });
});
