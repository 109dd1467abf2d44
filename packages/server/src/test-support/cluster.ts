import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { ResourceService } from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import { type Logger, pino } from "pino";
import { loadConfig, type NodeConfig } from "../config.js";
import { type RaftstoreNode, startNode } from "../node.js";

/** A free TCP port on 127.0.0.1 (bound and released; tests accept the tiny race). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestCluster {
  readonly configs: NodeConfig[];
  readonly nodes: Array<RaftstoreNode | undefined>;
  readonly dir: string;
  /** Starts node i (again), logging to `logger` if given (silent otherwise). */
  start(i: number, logger?: Logger): Promise<RaftstoreNode>;
  stop(i: number): Promise<void>;
  leader(): Promise<number>;
  /** A gRPC client of node i's ResourceService. */
  client(i: number): Client<typeof ResourceService>;
  /** A Connect-protocol (JSON over HTTP/1.1) client of node i. */
  jsonClient(i: number): Client<typeof ResourceService>;
  operator(i: number): Client<typeof OperatorService>;
  close(): Promise<void>;
}

export interface TestClusterOptions {
  size?: number;
  /** Extra settings per node, as flags (camelCase keys). */
  flags?: Record<string, string>;
  /** TLS files for node i. */
  tls?: (i: number) => { tlsCert: string; tlsKey: string; tlsCa: string };
  /** Client TLS for the test's own clients. */
  clientTls?: { ca: Buffer; cert: Buffer; key: Buffer };
  /** The nodes started at once (default: all); `start(i)` starts the others later. */
  startNow?: readonly number[];
}

/** Starts a cluster of nodes in this process, on loopback ports, with short Raft timeouts. */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const size = options.size ?? 3;
  const dir = await mkdtemp(join(tmpdir(), "raftstore-cluster-"));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const initialCluster = ports.map((p, i) => `n${i + 1}=127.0.0.1:${p}`).join(",");
  const configs = ports.map((port, i) =>
    loadConfig({
      flags: {
        id: `n${i + 1}`,
        dataDir: join(dir, `n${i + 1}`),
        listen: `127.0.0.1:${port}`,
        initialCluster,
        tickMs: "20",
        electionTicks: "10",
        logLevel: "silent",
        ...options.tls?.(i),
        ...options.flags,
      },
    }),
  );
  const nodes: Array<RaftstoreNode | undefined> = new Array(size).fill(undefined);
  const scheme = options.tls === undefined ? "http" : "https";
  const url = (i: number) => `${scheme}://127.0.0.1:${ports[i]}`;
  const sessions = new Map<number, GuardedSessionManager>();
  const nodeOptions = options.clientTls;
  const session = (i: number) => {
    let s = sessions.get(i);
    if (s === undefined) {
      s = new GuardedSessionManager(url(i), undefined, nodeOptions);
      sessions.set(i, s);
    }
    return s;
  };
  const cluster: TestCluster = {
    configs,
    nodes,
    dir,
    async start(i, logger = pino({ level: "silent" })) {
      const node = await startNode(configs[i] as NodeConfig, { logger });
      nodes[i] = node;
      return node;
    },
    async stop(i) {
      await nodes[i]?.close({ graceMs: 200 });
      nodes[i] = undefined;
      sessions.get(i)?.abort();
      sessions.delete(i);
    },
    async leader() {
      for (;;) {
        const leader = nodes.findIndex((n) => n?.raft.state === "leader");
        if (leader >= 0) return leader;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    client: (i) =>
      createClient(
        ResourceService,
        createGrpcTransport({ baseUrl: url(i), sessionManager: session(i) }),
      ),
    jsonClient: (i) =>
      createClient(
        ResourceService,
        createConnectTransport({
          baseUrl: url(i),
          httpVersion: "1.1",
          useBinaryFormat: false,
          nodeOptions,
        }),
      ),
    operator: (i) =>
      createClient(
        OperatorService,
        createGrpcTransport({ baseUrl: url(i), sessionManager: session(i) }),
      ),
    async close() {
      for (const s of sessions.values()) s.abort();
      await Promise.all(nodes.map((_, i) => cluster.stop(i)));
      await rm(dir, { recursive: true, force: true });
    },
  };
  const startNow = options.startNow ?? configs.map((_, i) => i);
  await Promise.all(startNow.map((i) => cluster.start(i)));
  return cluster;
}
