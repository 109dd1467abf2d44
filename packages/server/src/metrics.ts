import { performance } from "node:perf_hooks";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Store } from "@raftstore/inmem";
import type { RaftNode } from "@raftstore/raft";
import type { RaftTransport } from "@raftstore/raft-transport";
import type { DataDir } from "@raftstore/raft-wal";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What a node exports to Prometheus, and the hooks that feed it. */
export interface NodeMetrics {
  /** Counts and times every RPC by method and code. */
  readonly interceptor: Interceptor;
  /**
   * Counts and times one unary RPC, as `interceptor` does, for a path that reports its calls
   * instead of running interceptors (the lean gRPC handler's `onUnaryEnd`).
   */
  observeUnary(method: DescMethod, error: ConnectError | undefined, seconds: number): void;
  /** Records how long applying one committed entry took. */
  observeApply(seconds: number): void;
  /** Connects the gauges that are read at scrape time. */
  bind(deps: {
    raft: RaftNode;
    store: Store;
    dataDir: DataDir;
    transport: RaftTransport;
    /** The store's quota in bytes; 0 for none. */
    quotaBytes: number;
  }): void;
  /** The exposition, Prometheus text format 0.0.4. */
  render(): Promise<string>;
  readonly contentType: string;
}

const latencyBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** Creates a node's metrics on a registry of its own (several nodes may share a process in tests). */
export function createNodeMetrics(): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  let deps: Parameters<NodeMetrics["bind"]>[0] | undefined;
  const gauge = (name: string, help: string, read: (d: NonNullable<typeof deps>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (deps !== undefined) this.set(read(deps));
      },
    });
  gauge("raftstore_raft_term", "The current Raft term.", (d) => d.raft.term);
  gauge(
    "raftstore_raft_commit_index",
    "The highest log index known to be committed.",
    (d) => d.raft.stats().commitIndex,
  );
  gauge(
    "raftstore_raft_applied_index",
    "The highest log index applied to the store.",
    (d) => d.raft.stats().appliedIndex,
  );
  gauge(
    "raftstore_raft_last_index",
    "The last index in this node's log.",
    (d) => d.raft.stats().lastIndex,
  );
  gauge(
    "raftstore_raft_log_bytes",
    "Bytes of data in the entries this node's log holds in memory (--trailing-bytes bounds those behind a snapshot).",
    (d) => d.raft.stats().logBytes,
  );
  gauge("raftstore_raft_is_leader", "1 if this node is the leader.", (d) =>
    d.raft.state === "leader" ? 1 : 0,
  );
  gauge("raftstore_raft_has_leader", "1 if this node knows a leader.", (d) =>
    d.raft.leader === undefined ? 0 : 1,
  );
  gauge("raftstore_resources", "Resources in the store.", (d) => d.store.size);
  gauge("raftstore_watches", "Open watches on this node.", (d) => d.store.watchCount);
  gauge(
    "raftstore_store_bytes",
    "The store's size: each resource's content plus a fixed overhead (an estimate of its memory).",
    (d) => d.store.bytes,
  );
  gauge(
    "raftstore_store_quota_bytes",
    "The most the store may hold before writes that grow it are refused; 0: no quota.",
    (d) => d.quotaBytes,
  );
  gauge(
    "raftstore_disk_syncs_in_flight",
    "Disk syncs in progress.",
    (d) => d.dataDir.metrics.inFlight,
  );
  new Gauge({
    name: "raftstore_raft_peer_lag_entries",
    help: "On the leader: how many entries each follower is behind the leader's last index.",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      if (deps === undefined) return;
      const stats = deps.raft.stats();
      for (const [peer, status] of Object.entries(stats.peers)) {
        this.set({ peer }, Math.max(0, stats.lastIndex - status.match));
      }
    },
  });
  /** At scrape time: clears `metric`, then hands it every peer's transport counters. */
  const forEachPeer = (
    metric: { reset(): void },
    each: (peer: string, m: ReturnType<RaftTransport["metrics"]>["peers"][string]) => void,
  ) => {
    metric.reset();
    if (deps === undefined) return;
    for (const [peer, m] of Object.entries(deps.transport.metrics().peers)) each(peer, m);
  };
  new Gauge({
    name: "raftstore_transport_dropped_messages",
    help: "Messages dropped on the way to each peer (queue full, peer unreachable, too large).",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      forEachPeer(this, (peer, m) => {
        this.set(
          { peer },
          Object.values(m.dropped).reduce((a, b) => a + (b ?? 0), 0),
        );
      });
    },
  });
  // The transport's own counters, read at scrape time: messages and bytes by peer and direction
  // (and messages by type), like etcd's etcd_network_peer_{sent,received}_bytes_total. How many
  // appends or proposes a write costs, and where traffic goes, without a profiler.
  for (const direction of ["sent", "received"] as const) {
    new Counter({
      name: `raftstore_transport_${direction}_messages_total`,
      help: `Raft messages ${direction === "sent" ? "written to each peer's streams" : "received from each peer"}, by type.`,
      labelNames: ["peer", "type"],
      registers: [registry],
      collect() {
        forEachPeer(this, (peer, m) => {
          for (const [type, c] of Object.entries(m[direction])) {
            if (c !== undefined) this.inc({ peer, type }, c.messages);
          }
        });
      },
    });
    new Counter({
      name: `raftstore_transport_${direction}_bytes_total`,
      help: `Bytes of Raft messages ${direction === "sent" ? "written to" : "received from"} each peer.`,
      labelNames: ["peer"],
      registers: [registry],
      collect() {
        forEachPeer(this, (peer, m) => {
          let bytes = 0;
          for (const c of Object.values(m[direction])) bytes += c?.bytes ?? 0;
          this.inc({ peer }, bytes);
        });
      },
    });
  }
  new Counter({
    name: "raftstore_transport_rejected_streams_total",
    help: "Incoming Raft streams refused, by reason (cluster: from a node of another cluster; identity, unauthenticated: TLS; unparsable, too-large, mixed-senders, unavailable).",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      if (deps === undefined) return;
      for (const [reason, n] of Object.entries(deps.transport.metrics().rejectedStreams)) {
        if (n !== undefined) this.inc({ reason }, n);
      }
    },
  });
  const applyDuration = new Histogram({
    name: "raftstore_fsm_apply_duration_seconds",
    help: "Time to apply one committed entry to the store.",
    buckets: latencyBuckets,
    registers: [registry],
  });
  const requests = new Counter({
    name: "raftstore_rpc_requests_total",
    help: "RPCs served, by method and result code.",
    labelNames: ["method", "code"],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: "raftstore_rpc_duration_seconds",
    help: "Time to answer a unary RPC (to the end of a stream for streaming ones), by method.",
    labelNames: ["method"],
    buckets: latencyBuckets,
    registers: [registry],
  });

  // Label lookups cost a hash of the label values per call, and the method's label is a string to
  // build: both are cached per method (methods and codes are few).
  const perMethod = new Map<
    DescMethod,
    {
      histogram: { observe(value: number): void };
      counters: Map<string, { inc(): void }>;
      label: string;
    }
  >();
  const metricsOf = (method: DescMethod) => {
    let found = perMethod.get(method);
    if (found === undefined) {
      const service = method.parent.typeName;
      const label = `${service.slice(service.lastIndexOf(".") + 1)}.${method.name}`;
      found = {
        label,
        histogram: requestDuration.labels({ method: label }),
        counters: new Map(),
      };
      perMethod.set(method, found);
    }
    return found;
  };
  /** Counts one call of `method` that ended with `code`, and its duration. */
  const record = (method: DescMethod, code: string, seconds: number) => {
    const { label, histogram, counters } = metricsOf(method);
    let counter = counters.get(code);
    if (counter === undefined) {
      counter = requests.labels({ method: label, code });
      counters.set(code, counter);
    }
    counter.inc();
    histogram.observe(seconds);
  };
  const interceptor: Interceptor = (next) => async (req) => {
    const started = performance.now();
    const done = (code: string) => record(req.method, code, (performance.now() - started) / 1000);
    const codeOf = (error: unknown) => Code[ConnectError.from(error).code] ?? "unknown";
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      done(codeOf(error));
      throw error;
    }
    if (!res.stream) {
      done("ok");
      return res;
    }
    // A streaming answer is counted once, when its stream ends: "ok", the code it failed with,
    // or "canceled" when the call is aborted first (the client went away; the server may then
    // stop pulling the stream without finishing it).
    let counted = false;
    const finish = (code: string) => {
      if (counted) return;
      counted = true;
      done(code);
    };
    req.signal.addEventListener("abort", () => finish("canceled"), { once: true });
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
          finish("ok");
        } catch (error) {
          finish(codeOf(error));
          throw error;
        }
      })(),
    };
  };

  /** The sync histogram lives in raft-wal; it is rendered here in the exposition format. */
  function syncHistogram(): string {
    if (deps === undefined) return "";
    const m = deps.dataDir.metrics;
    const name = "raftstore_disk_sync_duration_seconds";
    const lines = [
      `# HELP ${name} Time to make a write durable (fdatasync of the log, fsync of files and directories).`,
      `# TYPE ${name} histogram`,
    ];
    for (const { le, count } of m.cumulativeBuckets()) {
      const bound = le === Number.POSITIVE_INFINITY ? "+Inf" : String(le / 1000);
      lines.push(`${name}_bucket{le="${bound}"} ${count}`);
    }
    lines.push(`${name}_sum ${m.totalMs / 1000}`, `${name}_count ${m.syncs}`);
    lines.push(
      "# HELP raftstore_disk_sync_failures_total Disk syncs that failed (each stops the node).",
      "# TYPE raftstore_disk_sync_failures_total counter",
      `raftstore_disk_sync_failures_total ${m.failedSyncs}`,
    );
    return `${lines.join("\n")}\n`;
  }

  return {
    interceptor,
    observeUnary(method, error, seconds) {
      record(method, error === undefined ? "ok" : (Code[error.code] ?? "unknown"), seconds);
    },
    observeApply(seconds) {
      applyDuration.observe(seconds);
    },
    bind(d) {
      deps = d;
    },
    async render() {
      return (await registry.metrics()) + syncHistogram();
    },
    contentType: registry.contentType,
  };
}
