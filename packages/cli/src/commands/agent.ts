import { resolve } from "node:path";
import type * as ServerModule from "@raftstore/server";
import type { RaftstoreNode } from "@raftstore/server";
import type { Command } from "commander";
import { type CommandContext, examples } from "../command-context.js";
import { CommandFailedError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { stopsAlone } from "../io.js";
import { guardStops } from "../stop-guard.js";

/** The server package: loaded only when the command is `agent` (it takes a second to load). */
export type Server = typeof ServerModule;

/** What each setting of the server's configuration means, for `raftstore agent --help`. */
export function settingDescriptions({ defaultRaftSettings }: Server): Record<string, string> {
  return {
    id: "this node's id: a lowercase DNS label, unique in the cluster, never reused (e.g. n1)",
    dataDir: "where the node keeps its log, snapshots and vote; one node per directory",
    listen: "host:port to serve on: gRPC, gRPC-Web, Connect, /healthz, /readyz, /metrics",
    advertise: "host:port peers and clients reach this node at (default: --listen)",
    initialCluster: "every voter, this node included: n1=host:port,n2=host:port,…",
    initialClusterToken:
      "with --initial-cluster, names the cluster a new data directory belongs to; give each cluster its own, so that a node of one never joins another (default raftstore-cluster)",
    tlsCert: "this node's certificate (PEM); with --tls-key and --tls-ca, every connection is TLS",
    tlsKey: "the key of --tls-cert (PEM)",
    tlsCa: "the CA that signs the nodes' (and clients') certificates (PEM)",
    tlsClientAuth: "require a client certificate signed by --tls-ca: true or false (default true)",
    maxResourceBytes: "the largest encoded resource a write may store (default 1048576)",
    quotaBytes:
      "the most the store may hold (each resource's content, its strings and bytes, plus 700 bytes: an estimate of its memory); a write that would grow it past this fails with ResourceExhausted, deletes still work; 0: no quota (default a quarter of the V8 heap limit, which --max-old-space-size in NODE_OPTIONS raises)",
    leaderHoldMs:
      "how long a write or strong read that finds no leader (an election) waits for one, in ms, before it fails with Unavailable; 0 fails at once (default 7000)",
    tickMs: `one Raft tick, in ms (default ${defaultRaftSettings.tickMs})`,
    electionTicks: `ticks without a leader before a follower campaigns (default ${defaultRaftSettings.electionTicks})`,
    heartbeatTicks: `ticks between the leader's heartbeats (default ${defaultRaftSettings.heartbeatTicks})`,
    snapshotThreshold: `entries applied since the last snapshot that trigger a new one (default ${defaultRaftSettings.snapshotThreshold})`,
    snapshotJitter: `each node snapshots after between (1 − this) × --snapshot-threshold and --snapshot-threshold entries (and --snapshot-interval-ms lowered alike), drawn again each time, so the members do not all snapshot at once; 0 to below 1 (default ${defaultRaftSettings.snapshotJitter})`,
    snapshotIntervalMs: `the least time between two snapshots --snapshot-threshold triggers, in ms: a large store takes seconds to encode (default ${defaultRaftSettings.snapshotIntervalMs})`,
    trailingEntries: `entries kept after a snapshot, for followers slightly behind (default ${defaultRaftSettings.trailingEntries})`,
    trailingBytes: `…and at most this many bytes of them: the log is held in memory (default ${defaultRaftSettings.trailingBytes}, 64 MiB)`,
    forwarding: `how a follower reaches the leader for writes and strong reads: raft (in its Raft stream, answered from its own store) or rpc (the ForwardingService) (default ${defaultRaftSettings.forwarding})`,
    logLevel: "debug, info, warn, error or silent (default info); logs are JSON lines on stderr",
  };
}

type AgentFlags = Record<string, string | undefined> & { config?: string };

/**
 * `raftstore agent`: runs one node until SIGTERM or SIGINT. Without `server` (any other command
 * runs), only its name and summary are registered, for the overview.
 */
export function registerAgent(
  program: Command,
  context: CommandContext,
  server: Server | undefined,
): void {
  const command = program
    .command("agent")
    .summary("Run one node of a cluster")
    .description(
      "Run one node of a cluster until SIGTERM or Ctrl-C, then stop gracefully: hand leadership over, finish requests in flight, exit 0",
    );
  if (server === undefined) return;
  const { createLogger, loadConfig, settingNames, startNode, unknownSettingVariables } = server;
  const descriptions = settingDescriptions(server);
  command.option(
    "--config <file>",
    "a JSON file of settings, keyed as the flags in camelCase (dataDir, …)",
  );
  for (const setting of settingNames) {
    const description = descriptions[setting.key] ?? "see the server's configuration";
    command.option(`${setting.flag} <value>`, `${description} (env ${setting.env})`);
  }
  command.addHelpText(
    "after",
    `${examples(
      "raftstore agent --id n1 --data-dir /var/lib/raftstore/n1 --listen 10.0.0.1:7001 \\\n      --initial-cluster n1=10.0.0.1:7001,n2=10.0.0.2:7001,n3=10.0.0.3:7001",
      "RAFTSTORE_ID=n1 RAFTSTORE_DATA_DIR=/data raftstore agent --config cluster.json",
    )}
Precedence: flags, then RAFTSTORE_* environment variables, then --config.
A second SIGTERM or Ctrl-C (a second or more after the first) exits at once; the log is
synced on every write, so nothing acknowledged is lost, but requests in flight fail.
Refuses to start, with a message and exit code 1, on a data directory another process uses,
a damaged data directory, or a port in use; exit code 2 on invalid settings.
`,
  );
  command.action(async (flags: AgentFlags) => {
    const { io } = context;
    const { config: file, ...settings } = flags;
    const loaded = loadConfig({
      flags: settings,
      env: io.env,
      file: file === undefined ? undefined : resolve(io.cwd, file),
    });
    const config = { ...loaded, dataDir: resolve(io.cwd, loaded.dataDir) };
    for (const { name, closest } of unknownSettingVariables(io.env)) {
      io.stderr.write(
        `raftstore agent: ignoring ${name}: no setting has that name${closest === undefined ? "" : ` (did you mean ${closest}?)`}\n`,
      );
    }
    const logger = createLogger(config.logLevel, { node: config.id });
    using stops = guardStops(io, {
      onFirst: (request) =>
        logger.info(
          { signal: request },
          stopsAlone(request)
            ? "stopping: handing leadership over, finishing requests in flight (signal again to exit at once)"
            : "stopping with the whole cluster: finishing requests in flight",
        ),
    });
    const node: RaftstoreNode = await startNode(config, { logger });
    const stopRequested = new Promise<"stop">((resolve) => {
      if (stops.signal.aborted) resolve("stop");
      else stops.signal.addEventListener("abort", () => resolve("stop"), { once: true });
    });
    const outcome = await Promise.race([
      node.stopped.then(() => "stopped" as const),
      stopRequested,
    ]);
    if (outcome === "stopped") {
      throw new CommandFailedError(
        `node ${config.id} stopped after a fatal error (the log above says which); it did not restart. Fix the cause, then start it again.`,
      );
    }
    // A leader that stops alone hands leadership to the most up-to-date follower first (the
    // engine does it, bounded, and logs the outcome), so clients see no election gap.
    await node.close({
      transferLeadership: stops.request !== undefined && stopsAlone(stops.request),
    });
    context.exitCode = ExitCode.Ok;
  });
}
