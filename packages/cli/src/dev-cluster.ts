import { isAbsolute, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { CommandContext } from "./command-context.js";
import { DEFAULT_ENDPOINT } from "./connections.js";
import { initialClusterOf, readiness } from "./dev-preflight.js";
import { type DevNode, type NodeExit, startDevSupervisor } from "./dev-supervisor.js";
import { ExitCode } from "./exit-codes.js";
import { prettyLogLine } from "./log-pretty.js";
import { guardStops } from "./stop-guard.js";

// The life of a `raftstore dev` cluster once its checks passed: start the nodes, say where
// they are and, once a leader exists, how to talk to them; report every node that exits on
// its own; stop them all on Ctrl-C.

/** After this long without a leader, dev says so (and keeps waiting). */
const SLOW_ELECTION_MS = 30_000;

export interface DevClusterOptions {
  nodes: DevNode[];
  host: string;
  /** The data directory as the user gave it, for messages. */
  shownDir: string;
  /** The cluster's `--initial-cluster-token` (drawn once per directory). */
  clusterToken: string;
  /** Options for every node's `raftstore agent` (after `--`). */
  agentOptions: string[];
  logFormat: "pretty" | "json";
  logLevel: string;
  /** Stop the cluster when a node exits on its own (default: keep the others running). */
  stopOnFailure: boolean;
  /** How long a node gets to stop cleanly before it is killed. */
  stopTimeout: { ms: number; text: string };
}

/** `path` relative to `cwd` when it is inside it, else as it is. */
export function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function describeExit(exit: NodeExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The lines that tell a user how to talk to the cluster, printed once a leader exists. */
export function tryItLines(self: string, endpoint: string): string[] {
  const flag = endpoint === DEFAULT_ENDPOINT ? "" : ` --endpoint ${endpoint}`;
  const body = JSON.stringify({
    resource: {
      id: { name: "hello", type: { group: "demo", groupVersion: "v1", kind: "Greeting" } },
      metadata: { text: "hello, raftstore" },
    },
  });
  return [
    `curl -s -H 'content-type: application/json' -d '${body}' ${endpoint}/raftstore.resource.v1.ResourceService/Write`,
    `${self} read demo.v1.Greeting hello${flag}`,
    `${self} watch demo.v1.Greeting${flag}`,
    `${self} status${flag}`,
  ];
}

/**
 * Runs the nodes until Ctrl-C (or a failure that ends the cluster), reporting what happens,
 * then stops them. Resolves with the exit code of `raftstore dev`.
 */
export async function runDevCluster(
  context: CommandContext,
  options: DevClusterOptions,
): Promise<number> {
  const { io } = context;
  const { nodes } = options;
  const color = io.stderr.isTTY === true && (io.env.NO_COLOR ?? "") === "";
  const idWidth = Math.max(...nodes.map((n) => n.id.length));
  const say = (line: string) => io.stderr.write(`raftstore dev: ${line}\n`);
  const loud = (line: string) => say(color ? `\u001b[1;31m${line}\u001b[0m` : line);
  const quorum = Math.floor(nodes.length / 2) + 1;
  const cluster = initialClusterOf(nodes, options.host);

  let phase: "starting" | "running" | "stopping" = "starting";
  // Aborted when the cluster cannot go on: a node failed to start, every node is gone, or a
  // node exited with --stop-on-failure.
  const failure = new AbortController();
  const supervisor = startDevSupervisor({
    nodes,
    cwd: io.cwd,
    env: io.env,
    agentArguments: (node) => [
      "--id",
      node.id,
      "--data-dir",
      node.dataDir,
      "--listen",
      `${options.host}:${node.port}`,
      "--initial-cluster",
      cluster,
      "--initial-cluster-token",
      options.clusterToken,
      "--log-level",
      options.logLevel,
      ...options.agentOptions,
    ],
    onLine: (node, line) => {
      io.stderr.write(
        options.logFormat === "json"
          ? `${line}\n`
          : `${prettyLogLine(node.id, line, { color, idWidth, index: node.index })}\n`,
      );
    },
    onExit: (exit) => {
      if (exit.requested) return;
      const { node } = exit;
      const running = supervisor.running().length;
      if (phase === "starting") {
        loud(
          `✖ ${node.id} (pid ${exit.pid}) could not start: it ${describeExit(exit)} (its output is above). Stopping the other nodes.`,
        );
        failure.abort();
        return;
      }
      loud(`✖ ${node.id} (pid ${exit.pid}) ${describeExit(exit)} on its own. It is NOT restarted.`);
      if (running === 0) {
        loud("no node is running any more.");
        failure.abort();
      } else if (options.stopOnFailure) {
        say("--stop-on-failure: stopping the other nodes.");
        failure.abort();
      } else {
        say(
          `${running} of ${nodes.length} nodes still run: ${
            running >= quorum
              ? `the cluster keeps its quorum (${quorum} needed).`
              : `the cluster has NO quorum (${quorum} needed): writes and strong reads fail until it is restarted.`
          } Ctrl-C stops the rest; running \`${io.selfCommand} dev\` again restarts every node with its data.`,
        );
      }
    },
  });
  using stops = guardStops(io, {
    onFirst: (request) => say(`${request}: stopping every node (again to kill them at once)…`),
    onForce: () => supervisor.killAll(),
  });

  io.stdout.write(
    `raftstore dev: ${nodes.length} node${nodes.length === 1 ? "" : "s"}, data in ${options.shownDir}\n`,
  );
  for (const node of nodes) {
    io.stdout.write(
      `  ${node.id.padEnd(idWidth)}  ${node.url}  pid ${supervisor.pidOf(node.id) ?? "?"}  ${shownPath(io.cwd, node.dataDir)}\n`,
    );
  }
  io.stdout.write("\n");

  const interrupted = AbortSignal.any([stops.signal, failure.signal]);
  const leader = await waitForLeader(nodes, interrupted, () =>
    say(`no leader after ${SLOW_ELECTION_MS / 1000}s: see the nodes' output above. Still waiting…`),
  );
  if (leader !== undefined) {
    phase = "running";
    io.stdout.write(
      `raftstore dev: ${leader.leader} is the leader (term ${leader.term}). Every node serves every request; followers forward to the leader.\n\nTry it:\n${tryItLines(
        io.selfCommand,
        nodes[0]?.url ?? DEFAULT_ENDPOINT,
      )
        .map((line) => `  ${line}\n`)
        .join("")}\nCtrl-C stops the cluster.\n`,
    );
    await new Promise<void>((resolve) => {
      if (interrupted.aborted) resolve();
      else interrupted.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  phase = "stopping";
  const exits = await supervisor.stop(options.stopTimeout.ms);
  const unclean = exits.filter((e) => e.killed || e.code !== 0);
  for (const exit of unclean) {
    loud(
      exit.killed
        ? `✖ ${exit.node.id} did not stop within ${options.stopTimeout.text} and was killed.`
        : `✖ ${exit.node.id} ${describeExit(exit)} while stopping.`,
    );
  }
  if (failure.signal.aborted) return ExitCode.Failure;
  if (unclean.length > 0) return ExitCode.Failure;
  say(
    `${exits.length === nodes.length ? "every node" : `the ${exits.length} running nodes`} stopped cleanly.`,
  );
  return ExitCode.Ok;
}

async function waitForLeader(
  nodes: readonly DevNode[],
  signal: AbortSignal,
  onSlow: () => void,
): Promise<{ leader: string; term: number } | undefined> {
  const started = performance.now();
  let warned = false;
  while (!signal.aborted) {
    const answers = await Promise.all(nodes.map((node) => readiness(node.url, signal)));
    const found = answers.find((a) => a?.leader !== null && a?.leader !== undefined);
    if (found?.leader) return { leader: found.leader, term: found.term };
    if (!warned && performance.now() - started > SLOW_ELECTION_MS) {
      warned = true;
      onSlow();
    }
    await sleep(250, undefined, { signal }).catch((error: unknown) => {
      if (!signal.aborted) throw error;
    });
  }
  return undefined;
}
