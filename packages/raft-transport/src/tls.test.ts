import { X509Certificate } from "node:crypto";
import * as http2 from "node:http2";
import type { PeerCertificate } from "node:tls";
import { Code } from "@connectrpc/connect";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { isInvalidTransportOptionsError, isPeerIdentityError } from "./errors.js";
import { serializeMessage } from "./serialize-message.js";
import { Inbox, startTestNodes, type TestNodes, waitFor } from "./test-support/cluster.js";
import { startSilentListener } from "./test-support/freezable-proxy.js";
import { heartbeat } from "./test-support/messages.js";
import { startNodeServer } from "./test-support/node-server.js";
import { sendBatches } from "./test-support/raw-client.js";
import { RecordingLogger } from "./test-support/recording-logger.js";
import {
  type ClusterCertificates,
  createCertificateAuthority,
  createClusterCertificates,
  createNodeCertificate,
} from "./testing/certificates.js";
import {
  clientTlsOptions,
  nodeIdentityUri,
  nodeIdsOfCertificate,
  serverTlsOptions,
  type TransportTlsOptions,
} from "./tls.js";
import { createRaftTransport } from "./transport.js";

const fast = { backoff: { initialMs: 10, maxMs: 100 }, connectTimeoutMs: 1000 };

let certs: ClusterCertificates;
let cluster: TestNodes | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  certs = await createClusterCertificates(["n1", "n2", "n3"]);
});

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function tlsOf(id: string): TransportTlsOptions {
  const tls = certs.nodes[id];
  if (tls === undefined) throw new Error(`no certificate for ${id}`);
  return tls;
}

/** A node n2 with mTLS, and a transport of `id` (with `tls`) that dials it as "n2". */
async function dialN2(id: string, tls: TransportTlsOptions) {
  const n2 = createRaftTransport({ id: "n2", peers: {}, tls: tlsOf("n2") });
  const n2Inbox = new Inbox();
  n2.start(n2Inbox);
  const server = await startNodeServer(n2, { tls: tlsOf("n2") });
  const logger = new RecordingLogger();
  const client = createRaftTransport({ ...fast, id, peers: { n2: server.baseUrl }, tls, logger });
  const inbox = new Inbox();
  client.start(inbox);
  cleanups.push(async () => {
    await client.close();
    await n2.close();
    await server.close();
  });
  return { n2, n2Inbox, server, client, inbox, logger };
}

async function refused(setup: Awaited<ReturnType<typeof dialN2>>, from: string) {
  setup.client.send(heartbeat(from, "n2", 1));
  await waitFor(() => setup.inbox.unreachable.includes("n2"), "the refusal to be reported");
  expect(setup.n2Inbox.messages).toEqual([]);
}

describe("mutual TLS between nodes", () => {
  it("lets two nodes with certificates from the cluster CA talk both ways", async () => {
    cluster = await startTestNodes(["n1", "n2"], { tls: certs.nodes });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    expect(n1.server.baseUrl).toMatch(/^https:/);
    n1.transport.send(heartbeat("n1", "n2", 1));
    n2.transport.send(heartbeat("n2", "n1", 2));
    await waitFor(
      () => n1.inbox.messages.length === 1 && n2.inbox.messages.length === 1,
      "both heartbeats",
    );
    expect(n2.inbox.messages).toEqual([heartbeat("n1", "n2", 1)]);
    expect(n1.inbox.messages).toEqual([heartbeat("n2", "n1", 2)]);
  });

  it("refuses a client without a certificate at the handshake", async () => {
    const setup = await dialN2("n1", tlsOf("n1"));
    const error = await sendBatches(
      setup.server.baseUrl,
      [[serializeMessage(heartbeat("n1", "n2", 1))]],
      undefined,
      { ca: certs.ca.cert, checkServerIdentity: () => undefined },
    );
    // With TLS 1.3 the client learns of the refusal only once it writes (the code varies with
    // timing); the server refused the handshake either way.
    expect(error).toBeDefined();
    expect(setup.server.tlsFailures()).toBeGreaterThanOrEqual(1);
    expect(setup.n2Inbox.messages).toEqual([]);
  });

  it("refuses a client whose certificate another CA signed, at the handshake", async () => {
    const rogueCa = await createCertificateAuthority("rogue CA");
    const rogue = await createNodeCertificate(rogueCa, "n1");
    // It trusts the cluster CA (so it accepts n2), but its own certificate is not the cluster's.
    const setup = await dialN2("n1", { ca: certs.ca.cert, cert: rogue.cert, key: rogue.key });
    await refused(setup, "n1");
    expect(setup.server.tlsFailures()).toBeGreaterThanOrEqual(1);
    expect(setup.n2.metrics().activeStreams).toBe(0);
  });

  it("refuses a node that speaks for another node id (PermissionDenied)", async () => {
    // n3's valid certificate, but its messages claim to come from n1.
    const setup = await dialN2("n1", tlsOf("n3"));
    await refused(setup, "n1");
    expect(setup.n2.metrics().rejectedStreams.identity).toBeGreaterThanOrEqual(1);
    const [failure] = setup.logger.find("warn", "stream to peer failed");
    expect(String(failure?.fields.err)).toContain(
      'expected the client certificate to name node "n1", found "n3"',
    );
  });

  it("refuses to send to a server whose certificate names another node", async () => {
    // n1 dials "n2" at an address where n3 answers.
    const n3 = createRaftTransport({ id: "n3", peers: {}, tls: tlsOf("n3") });
    const n3Inbox = new Inbox();
    n3.start(n3Inbox);
    const server = await startNodeServer(n3, { tls: tlsOf("n3") });
    const logger = new RecordingLogger();
    const n1 = createRaftTransport({
      ...fast,
      id: "n1",
      peers: { n2: server.baseUrl },
      tls: tlsOf("n1"),
      logger,
    });
    const inbox = new Inbox();
    n1.start(inbox);
    cleanups.push(async () => {
      await n1.close();
      await n3.close();
      await server.close();
    });
    n1.send(heartbeat("n1", "n2", 1));
    await waitFor(() => inbox.unreachable.includes("n2"), "the refusal to be reported");
    expect(n3Inbox.messages).toEqual([]);
    const [failure] = logger.find("warn", "stream to peer failed");
    expect(String(failure?.fields.err)).toContain(
      'expected the server certificate to name node "n2", found "n3"',
    );
  });

  it("refuses streams without an authorized certificate even on a port that admits anyone", async () => {
    const n2 = createRaftTransport({ id: "n2", peers: {}, tls: tlsOf("n2") });
    n2.start(new Inbox());
    const server = await startNodeServer(n2, {
      tls: tlsOf("n2"),
      serverTls: { requireClientCertificate: false },
    });
    cleanups.push(async () => {
      await n2.close();
      await server.close();
    });
    const error = await sendBatches(
      server.baseUrl,
      [[serializeMessage(heartbeat("n1", "n2", 1))]],
      undefined,
      { ca: certs.ca.cert, checkServerIdentity: () => undefined },
    );
    expect(error?.code).toBe(Code.Unauthenticated);
    expect(error?.rawMessage).toMatch(/^expected a client certificate signed by the cluster CA/);
    expect(n2.metrics().rejectedStreams).toEqual({ unauthenticated: 1 });
  });

  it("refuses streams when the server did not hand over the TLS identity", async () => {
    const n2 = createRaftTransport({ id: "n2", peers: {}, tls: tlsOf("n2") });
    n2.start(new Inbox());
    // Plaintext routes for a TLS transport: a mounting mistake, caught with a clear error.
    const server = await startNodeServer(n2);
    cleanups.push(async () => {
      await n2.close();
      await server.close();
    });
    const error = await sendBatches(server.baseUrl, [[serializeMessage(heartbeat("n1", "n2", 1))]]);
    expect(error?.code).toBe(Code.Unauthenticated);
    expect(error?.rawMessage).toContain("mount them with contextValues: raftContextValues");
  });

  it("fails a connection whose TLS handshake never completes at the connect timeout", async () => {
    const silent = await startSilentListener();
    const inbox = new Inbox();
    const n1 = createRaftTransport({
      ...fast,
      id: "n1",
      peers: { n2: `https://127.0.0.1:${silent.port}` },
      tls: tlsOf("n1"),
      connectTimeoutMs: 200,
      pingIntervalMs: 60_000,
    });
    n1.start(inbox);
    cleanups.push(async () => {
      await n1.close();
      await silent.close();
    });
    n1.send(heartbeat("n1", "n2", 1));
    await waitFor(() => inbox.unreachable.includes("n2"), "the timeout to be reported");
    // The heartbeat never left the queue: it was dropped when the connection failed.
    expect(n1.metrics().peers.n2?.dropped).toEqual({ disconnected: 1 });
    expect(n1.metrics().peers.n2?.sent).toEqual({});
  });
});

describe("node identities in certificates", () => {
  it("are read from raftstore://node URIs, URI-decoded", async () => {
    const pair = await createNodeCertificate(certs.ca, "node a/1");
    const cert = new X509Certificate(pair.cert);
    expect(nodeIdentityUri("node a/1")).toBe("raftstore://node/node%20a%2F1");
    const ids = nodeIdsOfCertificate({
      subject: { CN: "node a/1" },
      subjectaltname: cert.subjectAltName,
    } as unknown as PeerCertificate);
    expect(ids).toEqual(["node a/1"]);
  });

  it("fall back to the common name when there is no node URI", async () => {
    const pair = await createNodeCertificate(certs.ca, "n7", { uri: false });
    const cert = new X509Certificate(pair.cert);
    expect(
      nodeIdsOfCertificate({
        subject: { CN: "n7" },
        subjectaltname: cert.subjectAltName,
      } as unknown as PeerCertificate),
    ).toEqual(["n7"]);
    expect(nodeIdsOfCertificate(undefined)).toEqual([]);
    expect(nodeIdsOfCertificate({} as PeerCertificate)).toEqual([]);
  });

  it("checks the server's identity instead of its host name, unless told otherwise", () => {
    const options = clientTlsOptions(tlsOf("n1"), "n2", "https://127.0.0.1:7001");
    expect(options.servername).toBeUndefined(); // an IP address is no server name
    const named = (id: string) =>
      ({ subject: { CN: id }, subjectaltname: `URI:${nodeIdentityUri(id)}` }) as PeerCertificate;
    expect(options.checkServerIdentity?.("127.0.0.1", named("n2"))).toBeUndefined();
    const wrong = options.checkServerIdentity?.("127.0.0.1", named("n3"));
    expect(isPeerIdentityError(wrong)).toBe(true);
    const byName = clientTlsOptions(
      { ...tlsOf("n1"), verifyPeerIdentity: false },
      "n2",
      "https://node2.example:7001",
    );
    expect(byName.servername).toBe("node2.example");
    expect(byName.checkServerIdentity?.("node2.example", named("n2"))).toBeInstanceOf(Error);
  });
});

describe("the TLS helpers", () => {
  it("build server options for mutual TLS", () => {
    const options = serverTlsOptions(tlsOf("n1"));
    expect(options).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
      allowHTTP1: false,
    });
    expect(serverTlsOptions(tlsOf("n1"), { requireClientCertificate: false })).toMatchObject({
      requestCert: true,
      rejectUnauthorized: false,
    });
    // Usable as is.
    const server = http2.createSecureServer(options);
    server.close();
  });

  it("refuse missing certificates with a clear error", () => {
    const missingKey = { ...tlsOf("n1"), key: "" };
    expect(() => serverTlsOptions(missingKey)).toThrow("expected tls.key (PEM), found none");
    try {
      clientTlsOptions({ ...tlsOf("n1"), ca: [] }, "n2", "https://127.0.0.1:1");
    } catch (error) {
      expect(isInvalidTransportOptionsError(error)).toBe(true);
      expect((error as Error).message).toBe("expected tls.ca (PEM), found none");
    }
    expect(() =>
      createRaftTransport({ id: "n1", peers: { n2: "http://127.0.0.1:1" }, tls: tlsOf("n1") }),
    ).toThrow(/expected the address of peer n2 to be an https: URL \(the tls option is set\)/);
  });
});
