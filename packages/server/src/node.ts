import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createUnaryGrpcHandler } from "@raftstore/forwarding";
import {
  createRaftNode,
  decodeConfig,
  EntryType,
  isSnapshotDamage,
  type RaftNode,
} from "@raftstore/raft";
import { Backend } from "@raftstore/raft-backend";
import {
  createRaftServiceRoutes,
  createRaftStreamHandler,
  createRaftTransport,
  raftContextValues,
} from "@raftstore/raft-transport";
import { type DataDir, openDataDir } from "@raftstore/raft-wal";
import { clusterIdOf, dataDirClusterId } from "./cluster-id.js";
import type { NodeConfig } from "./config.js";
import { explainDataDirError, LOST_MEMBER_ADVICE, listenAdvice, NodeStartError } from "./errors.js";
import { createHttpFallback } from "./http-endpoints.js";
import { createLogger, type NodeLogger } from "./logger.js";
import { createNodeMetrics, type NodeMetrics } from "./metrics.js";
import { createOperatorRoutes } from "./operator-service.js";
import { decodeErrorAsInvalidArgument, withParseErrorsAsInvalidArgument } from "./parse-errors.js";
import { createPortServer, type PortServer } from "./port-server.js";
import { createRaftHandle, lateBoundHandle, type RaftHandle } from "./raft-handle.js";
import { createResourceFsm } from "./resource-fsm.js";
import {
  createResourceServiceRoutes,
  REQUEST_HEADROOM_BYTES,
} from "./resource-service/resource-service.js";

/** A running node. */
export interface RaftstoreNode {
  readonly id: string;
  /** The base URL clients and peers use (http://host:port or https://…). */
  readonly url: string;
  readonly raft: RaftNode;
  readonly backend: Backend;
  readonly metrics: NodeMetrics;
  /**
   * Stops the node gracefully: hands leadership to another node first (when it leads), lets
   * requests in flight finish, stops the engine, closes connections and the data directory.
   */
  close(options?: { transferLeadership?: boolean; graceMs?: number }): Promise<void>;
  /** Resolves when the node stopped (close, or a fatal error such as a failed disk). */
  readonly stopped: Promise<void>;
}

/** Options that tests and embedders set; the CLI uses the defaults. */
export interface StartNodeOptions {
  logger?: NodeLogger;
  /** Extra engine options (tests shorten timeouts). */
  raftOverrides?: Partial<Parameters<typeof createRaftNode>[0]>;
}

/** The node's TLS files, read once at start. */
interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

function tlsMaterial(config: NodeConfig): TlsMaterial | undefined {
  if (config.tls === undefined) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new NodeStartError(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    cert: read(config.tls.certFile, "certificate"),
    key: read(config.tls.keyFile, "key"),
    ca: read(config.tls.caFile, "CA"),
  };
}

/** Starts one node of a cluster: opens its data directory, joins the cluster, serves its port. */
export async function startNode(
  config: NodeConfig,
  options: StartNodeOptions = {},
): Promise<RaftstoreNode> {
  const logger = options.logger ?? createLogger(config.logLevel, { node: config.id });
  const tls = tlsMaterial(config);
  const scheme = tls === undefined ? "http" : "https";
  const urlOf = (id: string) => {
    const address = config.initialCluster.get(id);
    return address === undefined ? undefined : `${scheme}://${address}`;
  };
  const metrics = createNodeMetrics();

  let dataDir: DataDir;
  try {
    dataDir = await openDataDir(config.dataDir, {
      logger,
      onSlowSync: (info) => logger.warn({ sync: info }, "slow disk sync"),
    });
  } catch (error) {
    throw explainDataDirError(error, config.dataDir);
  }

  const peers = new Map<string, string>();
  for (const id of config.initialCluster.keys()) {
    if (id !== config.id) peers.set(id, urlOf(id) as string);
  }
  let clusterId: string;
  try {
    const fromFlags = clusterIdOf(config.initialCluster, config.initialClusterToken);
    const noHistory = await holdsNoHistory(dataDir, [...config.initialCluster.keys()]);
    clusterId = await dataDirClusterId(config.dataDir, fromFlags, config.id, logger, noHistory);
  } catch (error) {
    await dataDir.close();
    throw explainDataDirError(error, config.dataDir);
  }
  const transport = createRaftTransport({ id: config.id, peers, tls, logger, clusterId });

  // The Backend, the FSM and the engine refer to each other; the handle is bound once the engine exists.
  let handle: RaftHandle | undefined;
  const backend = new Backend(
    lateBoundHandle(() => handle),
    logger,
    {
      leaderHoldMs: config.leaderHoldMs,
      quotaBytes: config.quotaBytes === 0 ? undefined : config.quotaBytes,
    },
  );
  // The engine carries a follower's proposals to the leader, and the handle lets the Backend
  // serve writes and strong reads on followers: both follow the one setting.
  const forwardProposals = config.raft.forwarding === "raft";
  const fsm = createResourceFsm(backend, (seconds) => metrics.observeApply(seconds));
  const raft = createRaftNode({
    id: config.id,
    voters: [...config.initialCluster.keys()],
    logStore: dataDir.log,
    stableStore: dataDir.stable,
    snapshotStore: dataDir.snapshots,
    transport,
    fsm,
    tickIntervalMs: config.raft.tickMs,
    electionTicks: config.raft.electionTicks,
    heartbeatTicks: config.raft.heartbeatTicks,
    snapshotThreshold: config.raft.snapshotThreshold,
    snapshotJitter: config.raft.snapshotJitter,
    snapshotIntervalMs: config.raft.snapshotIntervalMs,
    trailingEntries: config.raft.trailingEntries,
    trailingBytes: config.raft.trailingBytes,
    forwardProposals,
    maxEntrySize: config.maxResourceBytes + REQUEST_HEADROOM_BYTES,
    logger: withoutNodeKey(logger),
    ...options.raftOverrides,
  });
  handle = createRaftHandle(raft, {
    urlOf,
    forwardProposals,
    http2Options: tls === undefined ? undefined : { ca: tls.ca, cert: tls.cert, key: tls.key },
  });
  raft.observe((event) => {
    if (event.type === "leaderChange") {
      backend.leaderChanged();
      handle?.leaderChanged();
      logger.info({ leader: event.leader, term: event.term }, "leader changed");
    }
  });
  metrics.bind({ raft, store: backend.store, dataDir, transport, quotaBytes: config.quotaBytes });

  const routes = (router: ConnectRouter) => {
    createResourceServiceRoutes({ backend, maxResourceBytes: config.maxResourceBytes })(router);
    backend.forwardingRoutes()(router);
    createRaftServiceRoutes({ transport })(router);
    createOperatorRoutes({
      raft,
      backend,
      config,
      urlOf,
      clusterId,
      http2Options: tls === undefined ? undefined : { ca: tls.ca, cert: tls.cert, key: tls.key },
    })(router);
  };
  const contextValues = tls === undefined ? undefined : raftContextValues;
  // The raft streams between nodes and plain gRPC unary calls take lean paths; everything else
  // (other protocols, JSON, compression, HTTP/1.1, the HTTP endpoints) goes through connect.
  const unaryHandler = createUnaryGrpcHandler({
    routes,
    interceptors: [metrics.interceptor],
    // Unary calls are counted without an interceptor, which would make every call's signal and
    // headers whether or not anything reads them.
    unaryInterceptors: [],
    onUnaryEnd: metrics.observeUnary,
    contextValues,
    decodeError: decodeErrorAsInvalidArgument,
    fallback: (registered) =>
      connectNodeAdapter({
        routes: withParseErrorsAsInvalidArgument(registered),
        // connect ignores unknown JSON keys by default: a misspelt "version" would turn a
        // compare-and-swap into a blanket write that overwrites whatever is stored. Refused.
        jsonOptions: { ignoreUnknownFields: false },
        interceptors: [metrics.interceptor],
        contextValues,
        fallback: createHttpFallback({ raft, metrics }),
      }),
  });
  const handler = createRaftStreamHandler({ transport, fallback: unaryHandler });
  const port: PortServer = createPortServer({
    handler,
    tls:
      tls === undefined
        ? undefined
        : { ...tls, requestClientCertificate: config.tls?.clientAuth ?? true },
    onRefused: (reason, remote) => logger.warn({ remote }, `connection refused: ${reason}`),
  });

  const [host, portText] = splitHostPort(config.listen);
  try {
    await port.listen(host, Number(portText));
  } catch (error) {
    await transport.close();
    await dataDir.close();
    throw new NodeStartError(
      `cannot listen on ${config.listen}: ${(error as Error).message}. ${listenAdvice(error)}`,
      { cause: error },
    );
  }

  const stop = new AbortController();
  const backendStopped = backend.run(stop.signal);
  try {
    await raft.start();
  } catch (error) {
    stop.abort();
    await backendStopped;
    await port.close(0);
    await transport.close();
    await dataDir.close();
    const advice = isSnapshotDamage(error)
      ? ` To do so, copy the newest *.snap file of another member's ${join("<data-dir>", "snapshots")} ` +
        `into ${join(config.dataDir, "snapshots")}, under the same name (\`raftstore snapshot ` +
        "inspect FILE` checks it and shows its index), and start the node again."
      : "";
    throw new NodeStartError(`cannot start the Raft engine: ${(error as Error).message}${advice}`, {
      cause: error,
    });
  }
  logger.info(
    { url: urlOf(config.id), dataDir: config.dataDir, cluster: clusterId },
    "node started",
  );
  const heapLimit = getHeapStatistics().heap_size_limit;
  if (config.quotaBytes === 0 || config.quotaBytes > heapLimit / 2) {
    logger.warn(
      { quotaBytes: config.quotaBytes, heapLimitBytes: heapLimit },
      config.quotaBytes === 0
        ? "no store quota (--quota-bytes 0): a store that outgrows the heap stops every node at once, and a restart may run out of memory again"
        : "the store quota (--quota-bytes) is over half the heap limit: a store that large may not fit twice while a snapshot is restored; raise the heap (NODE_OPTIONS=--max-old-space-size=…) or lower the quota",
    );
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (closeOptions: { transferLeadership?: boolean; graceMs?: number } = {}) => {
    closing ??= (async () => {
      logger.info({}, "node stopping");
      try {
        await raft
          .shutdown({ transferLeadership: closeOptions.transferLeadership ?? true })
          .catch((error: unknown) => logger.warn({ err: error }, "engine shutdown failed"));
        stop.abort();
        await backendStopped;
        await port.close(closeOptions.graceMs ?? 2000);
        handle?.close();
        await transport.close();
        // After a disk failure the stores refuse even to close, with that failure: the caller
        // of close() gets it, and the node is stopped all the same.
        await dataDir.close();
        logger.info({}, "node stopped");
      } finally {
        resolveStopped();
      }
    })();
    return closing;
  };
  // A failed disk or a corrupt log stops the engine: take the rest of the node down with it.
  raft.observe((event) => {
    if (event.type === "failed") {
      logger.error({ err: event.error }, "the Raft engine failed; stopping the node");
      // A corrupt entry, or entries acknowledged and then lost: this member's data is damaged.
      if (["CorruptEntryError", "InconsistentStateError"].includes(event.error.name)) {
        logger.error({ dataDir: config.dataDir }, `what to do: ${LOST_MEMBER_ADVICE}`);
      }
      close({ transferLeadership: false, graceMs: 0 }).catch((error: unknown) =>
        logger.error({ err: error }, "the node stopped with an error"),
      );
    }
  });

  return { id: config.id, url: urlOf(config.id) as string, raft, backend, metrics, close, stopped };
}

function splitHostPort(address: string): [string, string] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[(.*)\]$/, "$1"), address.slice(at + 1)];
}

/**
 * The engine names the node in every log line itself; the node's logger already binds it, and
 * pino would print the key twice.
 */
function withoutNodeKey(logger: NodeLogger) {
  const strip = (obj: object) => {
    if (!("node" in obj)) return obj;
    const { node: _node, ...rest } = obj as Record<string, unknown>;
    return rest;
  };
  return {
    debug: (obj: object, msg?: string) => logger.debug(strip(obj), msg),
    info: (obj: object, msg?: string) => logger.info(strip(obj), msg),
    warn: (obj: object, msg?: string) => logger.warn(strip(obj), msg),
    error: (obj: object, msg?: string) => logger.error(strip(obj), msg),
  };
}

/**
 * Whether a data directory holds none of a cluster's history yet: no snapshot, and a log of at
 * most the bootstrap entry, naming `members` as the voters. Nothing in it then depends on the
 * cluster it was made for (the bootstrap entry is the same for any addresses and token).
 */
async function holdsNoHistory(dataDir: DataDir, members: readonly string[]): Promise<boolean> {
  if (dataDir.log.lastIndex > 1 || (await dataDir.snapshots.list()).length > 0) return false;
  if (dataDir.log.lastIndex === 0) return true;
  const [first] = await dataDir.log.read(1, 1);
  if (first?.type !== EntryType.Config) return false;
  const voters = [...decodeConfig(first.data).voters].sort();
  const wanted = [...members].sort();
  return voters.length === wanted.length && voters.every((voter, i) => voter === wanted[i]);
}
