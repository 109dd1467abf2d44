import { Code, ConnectError } from "@connectrpc/connect";
import { outcomeHeader } from "@raftstore/proto";
import { isCommandFailedError, isInvalidInputError, isUsageError } from "./errors.js";
import { ExitCode, exitCodeForRpc, isQuotaExceeded } from "./exit-codes.js";

/**
 * Errors of the server (ConfigError, NodeStartError), of the snapshot codec
 * (SnapshotFormatError) and of a node's snapshot file (SnapshotCorruptionError) are recognized
 * by their stable `name`, as those packages' own guards
 * do. Importing the guards would load the whole server for every command, and starting the
 * CLI would cost a second more (see the README's figures).
 */
function hasName(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}

/** What the CLI prints for an error, and the exit code it ends with. */
export interface ErrorReport {
  exitCode: number;
  /** One or more lines, without the `raftstore <command>:` prefix. */
  message: string;
}

/** What a command knows that makes an error's message useful. */
export interface ErrorContext {
  /** The node the command talked to. */
  endpoint?: string;
  /** `raftstore read`, for "run `raftstore read --help`". */
  command: string;
  /**
   * What a code means for this command, said better than the server's generic message (which
   * then shows only with --debug): `demo.v1.Artist "web" in default/default does not exist`.
   */
  hints?: Partial<Record<Code, string>>;
  debug?: boolean;
}

const unreachable =
  /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNRESET|socket hang up/;

/** What to do about a change that may or may not have been made. */
const UNKNOWN_OUTCOME =
  "It may or may not have taken effect. Read the resource before retrying a change made with --if-version; a change without it can simply be made again.";

/** The commands that change what is stored, for which an unknown outcome matters. */
const changes = new Set([
  "raftstore write",
  "raftstore delete",
  "raftstore write-status",
  "raftstore snapshot restore",
]);

const codeNames: Partial<Record<Code, string>> = {
  [Code.NotFound]: "not found",
  [Code.Aborted]: "conflict",
  [Code.FailedPrecondition]: "failed precondition",
  [Code.InvalidArgument]: "invalid argument",
  [Code.Unavailable]: "unavailable",
  [Code.DeadlineExceeded]: "timed out",
  [Code.Unimplemented]: "not supported by the server",
  [Code.Canceled]: "cancelled",
  [Code.ResourceExhausted]: "too large",
};

/** The TLS failure somewhere in an error's causes (a certificate not trusted, or missing). */
function tlsFailure(error: unknown): Error | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (/CERT|SSL|TLS/.test(code) || /certificate|SSL routines/i.test(e.message)) return e;
  }
  return undefined;
}

function describeRpcError(error: ConnectError, context: ErrorContext): string {
  const where = context.endpoint ?? "the node";
  if (isQuotaExceeded(error.code, error.metadata)) {
    return `the store is full: ${error.rawMessage}\nNothing was changed. Deletes still work; raising --quota-bytes takes a restart of each node, one at a time. The nodes' raftstore_store_bytes metric shows how full the store is.`;
  }
  const tls = tlsFailure(error);
  if (tls !== undefined) {
    return `the TLS handshake with ${where} failed (${error.rawMessage}).\nGive the CA that signed the nodes' certificates with --tls-ca (or RAFTSTORE_TLS_CA), and, for nodes that require a client certificate, --tls-cert and --tls-key (or RAFTSTORE_TLS_CERT and RAFTSTORE_TLS_KEY).`;
  }
  const label = codeNames[error.code] ?? `server error (${Code[error.code]})`;
  // Storage errors already start with their kind ("invalid argument: …"): say it once.
  const raw = error.rawMessage.startsWith(`${label}: `)
    ? error.rawMessage.slice(label.length + 2)
    : error.rawMessage;
  const text = `${label}: ${raw}`;
  const hint = context.hints?.[error.code];
  if (hint !== undefined) {
    return `${label}: ${hint}${context.debug === true ? `\n(the server said: ${error.rawMessage})` : ""}`;
  }
  const tlsHint = where.startsWith("http://")
    ? " If the nodes use TLS, use an https:// endpoint with --tls-ca."
    : "";
  switch (error.code) {
    case Code.Canceled:
      return `${where} closed the connection before it answered (${error.rawMessage}).\nThe node may be stopping: retry, or ask another node.${tlsHint}`;
    case Code.Unavailable:
      if (unreachable.test(error.rawMessage)) {
        return `cannot reach ${where} (${error.rawMessage}).\nIs a node running there? \`raftstore dev\` starts a local cluster; --endpoint (or RAFTSTORE_ENDPOINT) points at another node.${tlsHint}`;
      }
      // The node says so of a change whose leader went away after it reached it.
      if (changes.has(context.command) && error.metadata.get(outcomeHeader) === "unknown") {
        return `${text}\n${UNKNOWN_OUTCOME}`;
      }
      return `${text}\nThe cluster has no leader or no quorum right now: retry in a moment, and see \`raftstore status\`.`;
    case Code.DeadlineExceeded:
      return `${where} did not answer within --timeout (${error.rawMessage}).\n${changes.has(context.command) ? `${UNKNOWN_OUTCOME}\n` : ""}The cluster may have lost its quorum: see \`raftstore status\`, or raise --timeout.`;
    case Code.Unimplemented:
      return `${text}\nThe node at ${where} runs a raftstore version without this operation.`;
    case Code.ResourceExhausted:
      return `${text}\nThe nodes refuse a resource larger than their --max-resource-bytes (1 MiB unless set otherwise): store less in one resource, or split it into several.`;
    case Code.Internal:
    case Code.Unknown:
      return `${text}\nThis is a bug or a failure on the server: its log says more.`;
    default:
      return text;
  }
}

/**
 * Turns any error a command threw into the message and exit code the CLI ends with. Errors it
 * does not know keep their own message and end with exit code 1: nothing is made to look like
 * a failure it is not.
 */
export function describeError(error: unknown, context: ErrorContext): ErrorReport {
  if (isUsageError(error)) {
    return {
      exitCode: ExitCode.Usage,
      message: `${error.message}\nRun \`${context.command} --help\` for usage.`,
    };
  }
  if (hasName(error, "ConfigError")) {
    return {
      exitCode: ExitCode.Usage,
      message: `${error.message}\nRun \`${context.command} --help\` for every setting.`,
    };
  }
  if (isInvalidInputError(error)) {
    return { exitCode: ExitCode.InvalidArgument, message: error.message };
  }
  if (isCommandFailedError(error)) return { exitCode: error.exitCode, message: error.message };
  if (hasName(error, "NodeStartError"))
    return { exitCode: ExitCode.Failure, message: error.message };
  if (hasName(error, "SnapshotFormatError") || hasName(error, "SnapshotCorruptionError")) {
    return {
      exitCode: ExitCode.InvalidArgument,
      message: `the snapshot is damaged, nothing was done with it: ${error.message}`,
    };
  }
  if (error instanceof ConnectError) {
    return {
      exitCode: exitCodeForRpc(error.code, error.metadata),
      message: describeRpcError(error, context),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.Failure, message };
}
