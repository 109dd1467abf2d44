import { Code, ConnectError } from "@connectrpc/connect";
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
import { ExitCode } from "./exit-codes.js";
import { exitCodeForStop } from "./io.js";
import { guardStops } from "./stop-guard.js";

// The options and the run loop shared by every command that talks to a cluster.

/** Adds --endpoint, --timeout and the client TLS flags. */
export function addConnectionOptions(command: Command): Command {
  return command
    .option(
      "--endpoint <url>",
      `any node of the cluster, or several comma-separated (the first that answers is used); followers forward to the leader (env RAFTSTORE_ENDPOINT, default ${DEFAULT_ENDPOINT})`,
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

/** How long each of several endpoints has to answer before the next one is asked. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * The first of several endpoints that answers (its member list), which every call then uses,
 * as etcdctl does with --endpoints. Only an endpoint that cannot be reached is passed over; one
 * that answers with an error is used, and the command says what the error is. Prints to stderr
 * which endpoints it passed over. When none answers, fails with exit code 5, naming each.
 */
async function chooseEndpoint(
  context: CommandContext,
  connections: Connections,
  signal: AbortSignal,
): Promise<string> {
  const { endpoints, timeoutMs } = connections.options;
  const passed: string[] = [];
  for (const endpoint of endpoints) {
    try {
      await connections
        .operator(endpoint)
        .listMembers({}, { signal, timeoutMs: Math.min(timeoutMs, PROBE_TIMEOUT_MS) });
    } catch (error) {
      if (signal.aborted) throw error;
      if (unreachable(error)) {
        passed.push(`${endpoint} (${error.rawMessage})`);
        continue;
      }
    }
    if (passed.length > 0) {
      context.io.stderr.write(
        `raftstore: no answer from ${passed.join(", ")}; using ${endpoint}\n`,
      );
    }
    connections.use(endpoint);
    return endpoint;
  }
  throw new CommandFailedError(
    `cannot reach any endpoint: ${passed.join(", ")}.\nAre the nodes running? \`raftstore dev\` starts a local cluster.`,
    { exitCode: ExitCode.Unavailable },
  );
}

/** Whether a call failed because the node could not be reached or did not answer in time. */
function unreachable(error: unknown): error is ConnectError {
  return (
    error instanceof ConnectError &&
    (error.code === Code.Unavailable ||
      error.code === Code.DeadlineExceeded ||
      error.code === Code.Canceled)
  );
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
    if (options.endpoints.length > 1) {
      context.endpoint = await chooseEndpoint(context, connections, stops.signal);
    }
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
