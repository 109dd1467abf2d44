import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Message } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import { createRaftServiceRoutes } from "./routes.js";
import { createRaftStreamHandler } from "./stream-handler.js";
import { createClusterCertificates } from "./testing/certificates.js";
import { raftContextValues, serverTlsOptions } from "./tls.js";
import { createRaftTransport, type RaftTransport } from "./transport.js";

describe("the README examples", () => {
  it("two nodes exchange messages over HTTP/2", async () => {
    const warnings: string[] = [];
    const console = { warn: (text: string) => warnings.push(text) };

    // A node's HTTP/2 server receives the raft streams itself, and mounts the raft routes on
    // connect's adapter next to its other services (for other protocols and other clients).
    async function serve(transport: RaftTransport): Promise<http2.Http2Server> {
      const server = http2.createServer(
        createRaftStreamHandler({
          transport,
          fallback: connectNodeAdapter({ routes: createRaftServiceRoutes({ transport }) }),
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return server;
    }
    const url = (s: http2.Http2Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

    const n1 = createRaftTransport({ id: "n1", peers: {} });
    const n2 = createRaftTransport({ id: "n2", peers: {} });
    const [s1, s2] = [await serve(n1), await serve(n2)];
    n1.setPeers({ n2: url(s2) }); // addresses can change later (membership changes)
    n2.setPeers({ n1: url(s1) });

    // The engine calls start(handler), then send(message); here, handlers that record.
    const received: Message[] = [];
    n2.start({ onMessage: (m) => received.push(m), onUnreachable: () => {} });
    n1.start({ onMessage: () => {}, onUnreachable: (peer) => console.warn(`${peer} unreachable`) });
    n1.send({ type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 0, context: 0 });
    while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    const sent = n1.metrics().peers.n2?.sent; // { heartbeat: { messages: 1, bytes: 14 } }

    await n1.close(); // ends its streams and connections
    await n2.close();
    await Promise.all([s1, s2].map((s) => new Promise((resolve) => s.close(resolve))));

    expect(received).toEqual([
      { type: "heartbeat", from: "n1", to: "n2", term: 1, commit: 0, context: 0 },
    ]);
    expect(sent).toEqual({ heartbeat: { messages: 1, bytes: 14 } });
    expect(warnings).toEqual([]);
  });

  it("a node serves and dials over mutual TLS", async () => {
    const certs = await createClusterCertificates(["n1"]);
    const [caPem, n1CertPem, n1KeyPem] = [
      certs.ca.cert,
      certs.nodes.n1?.cert ?? "",
      certs.nodes.n1?.key ?? "",
    ];

    // n1's certificate is signed by the cluster CA and names it: URI raftstore://node/n1.
    const tls = { ca: caPem, cert: n1CertPem, key: n1KeyPem };
    const transport = createRaftTransport({
      id: "n1",
      peers: { n2: "https://10.0.0.2:7001" },
      tls,
    });
    const server = http2.createSecureServer(
      serverTlsOptions(tls), // requestCert + rejectUnauthorized: no valid certificate, no handshake
      createRaftStreamHandler({
        transport, // reads the client certificate from the connection
        fallback: connectNodeAdapter({
          routes: createRaftServiceRoutes({ transport }),
          contextValues: raftContextValues, // hands the client certificate to the routes
        }),
      }),
    );

    expect(transport.id).toBe("n1");
    expect(transport.metrics().peers.n2?.address).toBe("https://10.0.0.2:7001");
    expect(server.listening).toBe(false);
    await transport.close();
  });
});
