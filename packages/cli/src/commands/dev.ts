import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { type CommandContext, examples } from "../command-context.js";
import { parseDuration } from "../connections.js";
import { runDevCluster, shownPath } from "../dev-cluster.js";
import { lockDevDirectory } from "../dev-lock.js";
import { checkClusterShape, checkPorts, planDevCluster } from "../dev-preflight.js";
import { UsageError } from "../errors.js";

const HOST = "127.0.0.1";

interface DevFlags {
  nodes: string;
  basePort: string;
  dir: string;
  logFormat: "pretty" | "json";
  logLevel: string;
  stopOnFailure?: boolean;
  stopTimeout: string;
}

function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
  return Number(text);
}

/** `raftstore dev`: a local cluster of child processes. */
export function registerDev(program: Command, context: CommandContext): void {
  const command = program
    .command("dev")
    .summary("Run a local cluster of child processes")
    .description(
      "Run a local cluster: one `raftstore agent` child process per node, on consecutive ports, data under --dir. Ctrl-C stops every node cleanly",
    )
    .argument("[agent-options...]", "after --: options given to every node's `raftstore agent`")
    .option("--nodes <n>", "how many nodes (1 to 9)", "3")
    .option("--base-port <port>", "the first node's port; the others follow", "7001")
    .option(
      "--dir <dir>",
      "where the nodes keep their data (one directory per node)",
      ".raftstore-dev",
    )
    .addOption(
      new Option(
        "--log-format <format>",
        "pretty: readable lines prefixed with the node id; json: the nodes' JSON logs as they are",
      )
        .choices(["pretty", "json"])
        .default("pretty"),
    )
    .addOption(
      new Option("--log-level <level>", "the nodes' log level")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .option(
      "--stop-on-failure",
      "when a node exits on its own, stop the others and exit 1 (default: keep them running)",
    )
    .option(
      "--stop-timeout <duration>",
      "how long a node gets to stop cleanly before it is killed (SIGKILL)",
      "10s",
    );
  command.addHelpText(
    "after",
    `${examples(
      "raftstore dev",
      "raftstore dev --nodes 5 --base-port 8001 --dir /tmp/rs",
      "raftstore dev --log-format json 2> nodes.log",
      "raftstore dev -- --snapshot-threshold 100 --snapshot-interval-ms 0   # options for every agent after --",
    )}
Nodes are never restarted silently: a node that exits is reported with its exit code, and the
others keep running (or stop, with --stop-on-failure). A second Ctrl-C kills every node at once.
Running it again restarts the same cluster with its data; delete the directory to start over.
Exit code 0 when every node stopped cleanly, 1 otherwise.
`,
  );
  command.action(async (agentOptions: string[], flags: DevFlags) => {
    const io = context.io;
    const dir = resolve(io.cwd, flags.dir);
    const shownDir = shownPath(io.cwd, dir);
    const nodes = planDevCluster({
      nodes: wholeNumber(flags.nodes, "--nodes"),
      basePort: wholeNumber(flags.basePort, "--base-port"),
      host: HOST,
      dir,
    });
    const stopTimeoutMs = parseDuration(flags.stopTimeout, "--stop-timeout");
    const lock = await lockDevDirectory(dir, shownDir);
    try {
      const { clusterToken } = await checkClusterShape(dir, shownDir, nodes.length);
      await checkPorts(nodes, HOST);
      context.exitCode = await runDevCluster(context, {
        nodes,
        host: HOST,
        shownDir,
        clusterToken,
        agentOptions,
        logFormat: flags.logFormat,
        logLevel: flags.logLevel,
        stopOnFailure: flags.stopOnFailure === true,
        stopTimeout: { ms: stopTimeoutMs, text: flags.stopTimeout },
      });
    } finally {
      await lock.release();
    }
  });
}
