import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager, maxDeadlineMs } from "@raftstore/forwarding";
import { ResourceService } from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import { InvalidInputError, UsageError } from "./errors.js";
import type { CliIo } from "./io.js";

/** Where a client command connects, and how. */
export interface ConnectionOptions {
  /** The base URL of any node (followers forward to the leader): the first of `endpoints`. */
  endpoint: string;
  /**
   * Every endpoint given (`--endpoint a,b,c`), in order: a command uses the first that answers.
   * One endpoint is used as it is, without asking it first.
   */
  endpoints: readonly string[];
  /** Every call fails with DeadlineExceeded (exit code 5) after this long. */
  timeoutMs: number;
  /** TLS material for `https://` endpoints: the CA, and a client certificate for mutual TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** The flags of every command that talks to a cluster, as commander parses them. */
export interface ConnectionFlags {
  endpoint?: string;
  timeout?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export const DEFAULT_ENDPOINT = "http://127.0.0.1:7001";
export const DEFAULT_TIMEOUT = "30s";

/** Parses a duration such as `500ms`, `10s` or `2m` into milliseconds, at most 27h46m. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`${flag}: expected a duration such as 500ms, 10s or 2m, got "${text}"`);
  }
  const unit = match[2] ?? "s";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000;
  const ms = Math.round(Number(match[1]) * factor);
  if (ms <= 0) throw new UsageError(`${flag}: must be longer than 0, got "${text}"`);
  if (ms > maxDeadlineMs) {
    throw new UsageError(
      `${flag}: must be at most 27h46m (${maxDeadlineMs} ms, gRPC's longest deadline), got "${text}"`,
    );
  }
  return ms;
}

/** `127.0.0.1:7001` → `http://127.0.0.1:7001` (https when TLS flags are given); checks the URL. */
export function normalizeEndpoint(text: string, tls: boolean): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
    ? text
    : `${tls ? "https" : "http"}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--endpoint: expected a URL such as ${DEFAULT_ENDPOINT}, got "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--endpoint: expected an http:// or https:// URL, got "${text}"`);
  }
  return url.origin;
}

function readTlsFile(io: CliIo, file: string | undefined, flag: string): Buffer | undefined {
  if (file === undefined || file === "") return undefined;
  try {
    return readFileSync(resolve(io.cwd, file));
  } catch (error) {
    throw new InvalidInputError(`${flag}: cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The connection options from the flags, falling back to RAFTSTORE_* environment variables. */
export function connectionOptions(io: CliIo, flags: ConnectionFlags): ConnectionOptions {
  const pick = (flag: string | undefined, env: string) =>
    flag ?? (io.env[env] === "" ? undefined : io.env[env]);
  const ca = readTlsFile(io, pick(flags.tlsCa, "RAFTSTORE_TLS_CA"), "--tls-ca");
  const cert = readTlsFile(io, pick(flags.tlsCert, "RAFTSTORE_TLS_CERT"), "--tls-cert");
  const key = readTlsFile(io, pick(flags.tlsKey, "RAFTSTORE_TLS_KEY"), "--tls-key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  }
  const tls = ca !== undefined || cert !== undefined ? { ca, cert, key } : undefined;
  const given = pick(flags.endpoint, "RAFTSTORE_ENDPOINT") ?? DEFAULT_ENDPOINT;
  const endpoints = [
    ...new Set(
      given
        .split(",")
        .map((text) => text.trim())
        .filter((text) => text !== "")
        .map((text) => normalizeEndpoint(text, tls !== undefined)),
    ),
  ];
  const [endpoint] = endpoints;
  if (endpoint === undefined) {
    throw new UsageError(`--endpoint: expected a URL such as ${DEFAULT_ENDPOINT}, got "${given}"`);
  }
  return {
    endpoint,
    endpoints,
    timeoutMs: parseDuration(flags.timeout ?? DEFAULT_TIMEOUT, "--timeout"),
    tls,
  };
}

/** Clients of one or more nodes, sharing one HTTP/2 connection per node until `close`. */
export interface Connections {
  readonly options: ConnectionOptions;
  /** The endpoint in use: `options.endpoint` until `use` picks another of `options.endpoints`. */
  readonly endpoint: string;
  use(endpoint: string): void;
  resources(): Client<typeof ResourceService>;
  /** The OperatorService of the endpoint, or of another node (`raftstore status` asks each). */
  operator(baseUrl?: string): Client<typeof OperatorService>;
  /** Closes every connection; calls still running fail. */
  close(): void;
}

export function createConnections(io: CliIo, options: ConnectionOptions): Connections {
  const sessions = new Map<string, GuardedSessionManager>();
  const transports = new Map<string, Transport>();
  const transport = (baseUrl: string): Transport => {
    let found = transports.get(baseUrl);
    if (found === undefined) {
      if (io.createTransport !== undefined) {
        found = io.createTransport(baseUrl);
      } else {
        // Guarded: a late session error (a node's graceful GOAWAY during `watch`) must not be
        // an uncaught exception.
        const session = new GuardedSessionManager(baseUrl, undefined, options.tls);
        sessions.set(baseUrl, session);
        found = createGrpcTransport({ baseUrl, sessionManager: session });
      }
      transports.set(baseUrl, found);
    }
    return found;
  };
  let endpoint = options.endpoint;
  return {
    options,
    get endpoint() {
      return endpoint;
    },
    use(chosen) {
      endpoint = chosen;
    },
    resources: () => createClient(ResourceService, transport(endpoint)),
    operator: (baseUrl = endpoint) => createClient(OperatorService, transport(baseUrl)),
    close() {
      for (const session of sessions.values()) session.abort();
      sessions.clear();
      transports.clear();
    },
  };
}
