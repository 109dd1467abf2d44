import { ReadConsistency } from "@raftstore/proto";
import { type Command, Option } from "commander";
import type { CommandContext } from "./command-context.js";
import {
  type ConnectionFlags,
  type Connections,
  connectionOptions,
  createConnections,
  DEFAULT_ENDPOINT,
  DEFAULT_TIMEOUT,
} from "./connections.js";
import { CommandFailedError } from "./errors.js";
import { exitCodeForStop } from "./io.js";
import { guardStops } from "./stop-guard.js";

// The options and the run loop shared by every command that talks to a cluster.

/** Adds --endpoint, --timeout and the client TLS flags. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option(
      "--endpoint <url>",
      `any node of the cluster; followers forward to the leader (env RAFTSTORE_ENDPOINT, default ${DEFAULT_ENDPOINT})`,
    )
    .option(
      "--timeout <duration>",
      `give up after this long: 500ms, 10s, 2m (default ${DEFAULT_TIMEOUT})`,
    )
    .option(
      "--tls-ca <file>",
      "CA certificate that signed the nodes' certificates (env RAFTSTORE_TLS_CA)",
    )
    .option(
      "--tls-cert <file>",
      "client certificate, for nodes that require one (env RAFTSTORE_TLS_CERT)",
    )
    .option("--tls-key <file>", "the client certificate's key (env RAFTSTORE_TLS_KEY)");
}

/** Adds --partition and --namespace; `wildcard` mentions "*" for queries. */
export function addTenancyOptions(command: Command, { wildcard = false } = {}): Command {
  const any = wildcard ? '; "*" matches any' : "";
  return command
    .option("--partition <name>", `the resource's partition (default "default"${any})`)
    .option("--namespace <name>", `the resource's namespace (default "default"${any})`);
}

/** Adds --consistency for reads and lists. */
export function addConsistencyOption(command: Command): Command {
  return command.addOption(
    new Option(
      "--consistency <level>",
      "strong: linearizable, confirmed by the leader; eventual: the node's local copy, possibly stale",
    )
      .choices(["strong", "eventual"])
      .default("strong"),
  );
}

export function readConsistency(level: string): ReadConsistency {
  return level === "eventual" ? ReadConsistency.EVENTUAL : ReadConsistency.STRONG;
}

/** What a client command's body gets: connections, and a signal aborted by Ctrl-C. */
export interface ClientRun {
  readonly connections: Connections;
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Per-call options: the signal and --timeout. */
  readonly call: { signal: AbortSignal; timeoutMs: number };
}

/**
 * Runs a client command's body with connections to the endpoint, and closes them however it
 * ends. Ctrl-C cancels the calls in flight; the command then ends with exit code 130 (143 for
 * SIGTERM), unless the body says that a stop is its normal end (`watch`) by returning.
 */
export async function runClient(
  context: CommandContext,
  flags: ConnectionFlags,
  body: (run: ClientRun) => Promise<void>,
): Promise<void> {
  const options = connectionOptions(context.io, flags);
  context.endpoint = options.endpoint;
  const connections = createConnections(context.io, options);
  using stops = guardStops(context.io);
  try {
    await body({
      connections,
      signal: stops.signal,
      call: { signal: stops.signal, timeoutMs: options.timeoutMs },
    });
  } catch (error) {
    if (stops.request !== undefined) {
      throw new CommandFailedError(`interrupted by ${stops.request}`, {
        exitCode: exitCodeForStop(stops.request),
        cause: error,
      });
    }
    throw error;
  } finally {
    connections.close();
  }
}
