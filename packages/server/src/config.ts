import { readFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { DEFAULT_LEADER_HOLD_MS } from "@raftstore/raft-backend";

/** Raft timing and sizing knobs of a node. */
export interface RaftSettings {
  /** One engine tick, in ms. */
  tickMs: number;
  /** Ticks without hearing from a leader before a follower campaigns (randomized up to 2×). */
  electionTicks: number;
  /** Ticks between leader heartbeats. */
  heartbeatTicks: number;
  /** Entries applied since the last snapshot that trigger a new one. */
  snapshotThreshold: number;
  /**
   * Each node snapshots after between (1 − this) × snapshotThreshold and snapshotThreshold
   * entries, drawn again after every snapshot, so that the members do not all snapshot at once.
   */
  snapshotJitter: number;
  /**
   * The least time between two snapshots that snapshotThreshold triggers, in ms: a large store
   * takes seconds to encode, and a busy node must not spend its life snapshotting.
   */
  snapshotIntervalMs: number;
  /** Entries kept in the log after a snapshot, for followers that are slightly behind. */
  trailingEntries: number;
  /**
   * …and at most this many bytes of them: the log is held in memory, outside the V8 heap, and
   * 10240 entries of 1 MiB would be 10 GiB.
   */
  trailingBytes: number;
  /**
   * How a follower reaches the leader for writes and strong reads: "raft" proposes writes and
   * confirms reads (ReadIndex) in its Raft stream and answers from its own store (etcd's way);
   * "rpc" forwards the whole request over the ForwardingService and relays the leader's answer
   * (Consul's way).
   */
  forwarding: "raft" | "rpc";
}

/** Everything a node needs to run, validated. */
export interface NodeConfig {
  /** This node's id, unique in the cluster and never reused for another data directory. */
  id: string;
  dataDir: string;
  /** host:port the node listens on (one port for every protocol). */
  listen: string;
  /** host:port peers and clients use to reach this node. Defaults to `listen`. */
  advertise: string;
  /** Every voter of the initial cluster, id → host:port (this node included). */
  initialCluster: ReadonlyMap<string, string>;
  /**
   * Makes the id of a new cluster unique (etcd's --initial-cluster-token): with the initial
   * cluster, it names the cluster a new data directory belongs to. See `clusterIdOf`.
   */
  initialClusterToken: string;
  /** TLS for every connection, clients and peers alike. */
  tls?: { certFile: string; keyFile: string; caFile: string; clientAuth: boolean };
  /** The largest encoded resource a write may store. */
  maxResourceBytes: number;
  /**
   * The most the store may hold (its `bytes`: each resource's content plus a fixed
   * overhead); a write that would grow it past this is refused with ResourceExhausted. 0: no
   * quota. Default `defaultQuotaBytes()`.
   */
  quotaBytes: number;
  /**
   * How long a write, delete or strong read that finds no leader waits for one, in ms, before
   * it fails with Unavailable (Consul's rpc_hold_timeout); 0 fails at once.
   */
  leaderHoldMs: number;
  raft: RaftSettings;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

/** The configuration is invalid; `problems` lists every problem found, each with its source. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === "ConfigError";
}

/** Where each setting comes from, lowest precedence first: file, environment, flags. */
export interface ConfigSources {
  /** Parsed command-line flags, camelCase keys (`dataDir`), string values. */
  flags?: Record<string, string | boolean | undefined>;
  /** The environment; `RAFTSTORE_DATA_DIR` sets `dataDir`. Default: none. */
  env?: Record<string, string | undefined>;
  /** A JSON file with the same camelCase keys as the flags. */
  file?: string;
}

/**
 * The store quota of a node started without --quota-bytes: a quarter of this process's V8 heap
 * limit (which --max-old-space-size in NODE_OPTIONS raises), in whole MiB. The store's `bytes`
 * estimates its memory, and the rest of the heap must hold a second copy of the store while a
 * snapshot is restored, the Raft log's entries, requests and watches in flight, and the garbage
 * between collections. A store that outgrew the heap would stop every node with "heap out of
 * memory", and a restart, which applies the same log again, may run out again.
 */
export function defaultQuotaBytes(): number {
  const quarter = getHeapStatistics().heap_size_limit / 4;
  return Math.max(1, Math.floor(quarter / 2 ** 20)) * 2 ** 20;
}

/** The token of a cluster started without --initial-cluster-token (etcd's is "etcd-cluster"). */
export const DEFAULT_INITIAL_CLUSTER_TOKEN = "raftstore-cluster";

export const defaultRaftSettings: RaftSettings = {
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotThreshold: 8192,
  snapshotJitter: 0.25,
  snapshotIntervalMs: 30_000,
  trailingEntries: 10240,
  trailingBytes: 64 * 2 ** 20,
  forwarding: "raft",
};

const keys = [
  "id",
  "dataDir",
  "listen",
  "advertise",
  "initialCluster",
  "initialClusterToken",
  "tlsCert",
  "tlsKey",
  "tlsCa",
  "tlsClientAuth",
  "maxResourceBytes",
  "quotaBytes",
  "leaderHoldMs",
  "tickMs",
  "electionTicks",
  "heartbeatTicks",
  "snapshotThreshold",
  "snapshotJitter",
  "snapshotIntervalMs",
  "trailingEntries",
  "trailingBytes",
  "forwarding",
  "logLevel",
] as const;
type Key = (typeof keys)[number];

const envName = (key: Key) => `RAFTSTORE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
const flagName = (key: Key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** RAFTSTORE_* variables that are not the agent's settings: the client commands', the repo's tools'. */
const otherVariables = /^RAFTSTORE_(?:ENDPOINT|BENCH_[A-Z0-9_]*|TEST_[A-Z0-9_]*)$/;

/**
 * The `RAFTSTORE_*` variables of `env` that name no setting (a typo, or a setting of another
 * version), each with the setting's variable it is closest to, when one is close: loadConfig
 * ignores them, and a misspelt RAFTSTORE_SNAPSHOT_THRESHHOLD would otherwise go unnoticed. etcd
 * warns about an unrecognized ETCD_* variable the same way. The client commands' variables
 * (RAFTSTORE_ENDPOINT, and RAFTSTORE_TLS_*, which are settings too) are not reported.
 */
export function unknownSettingVariables(
  env: Record<string, string | undefined>,
): Array<{ name: string; closest: string | undefined }> {
  const known = keys.map(envName);
  return Object.keys(env)
    .filter((name) => name.startsWith("RAFTSTORE_"))
    .filter((name) => !known.includes(name) && !otherVariables.test(name))
    .sort()
    .map((name) => {
      let closest: string | undefined;
      let best = 4;
      for (const candidate of known) {
        const distance = editDistance(name, candidate);
        if (distance < best) {
          best = distance;
          closest = candidate;
        }
      }
      return { name, closest };
    });
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        substitution,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The environment variable and flag of each setting, for help texts. */
export const settingNames: ReadonlyArray<{ key: string; flag: string; env: string }> = keys.map(
  (key) => ({ key, flag: flagName(key), env: envName(key) }),
);

interface Raw {
  value: string;
  source: string;
}

function collect(sources: ConfigSources, problems: string[]): Map<Key, Raw> {
  const raw = new Map<Key, Raw>();
  if (sources.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, "utf8"));
    } catch (error) {
      problems.push(`config file ${sources.file}: ${(error as Error).message}`);
    }
    if (parsed !== undefined) {
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        problems.push(`config file ${sources.file}: must hold a JSON object`);
      } else {
        for (const [key, value] of Object.entries(parsed)) {
          if (!(keys as readonly string[]).includes(key)) {
            problems.push(`config file ${sources.file}: unknown setting "${key}"`);
          } else if (value !== null && value !== undefined) {
            raw.set(key as Key, { value: String(value), source: `config file ${sources.file}` });
          }
        }
      }
    }
  }
  for (const key of keys) {
    const value = sources.env?.[envName(key)];
    if (value !== undefined && value !== "") raw.set(key, { value, source: envName(key) });
  }
  for (const key of keys) {
    const value = sources.flags?.[key];
    if (value !== undefined) raw.set(key, { value: String(value), source: flagName(key) });
  }
  return raw;
}

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function checkHostPort(raw: Raw, problems: string[]): string {
  const match = hostPort.exec(raw.value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    problems.push(`${raw.source}: expected host:port (e.g. 127.0.0.1:7001), got "${raw.value}"`);
  }
  return raw.value;
}

/**
 * Whether the peers, dialling `own` (this node's address in --initial-cluster), reach it: `own`
 * is its --advertise address, or, without one, its --listen address, where a wildcard host
 * (0.0.0.0, [::]) listens on every address and only the port must match.
 */
function reachableAt(own: string, advertiseRaw: Raw | undefined, listen: string): boolean {
  if (advertiseRaw !== undefined) return own === advertiseRaw.value;
  if (own === listen) return true;
  const [, host, port] = hostPort.exec(listen) ?? [];
  const wildcard = host === "0.0.0.0" || host === "[::]";
  return wildcard && hostPort.exec(own)?.[2] === port;
}

function integer(raw: Raw | undefined, fallback: number, min: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.value);
  if (!Number.isInteger(n) || n < min) {
    problems.push(`${raw.source}: expected an integer ≥ ${min}, got "${raw.value}"`);
    return fallback;
  }
  return n;
}

function fraction(raw: Raw | undefined, fallback: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.value);
  if (raw.value.trim() === "" || !(n >= 0 && n < 1)) {
    problems.push(`${raw.source}: expected a number from 0 to below 1, got "${raw.value}"`);
    return fallback;
  }
  return n;
}

/**
 * Builds a node's configuration from a JSON file, `RAFTSTORE_*` environment variables and
 * flags (in increasing precedence), and validates it. Throws ConfigError listing every problem,
 * each with where the bad value came from, so one run shows everything to fix.
 */
export function loadConfig(sources: ConfigSources): NodeConfig {
  const problems: string[] = [];
  const raw = collect(sources, problems);
  const required = (key: Key): Raw | undefined => {
    const value = raw.get(key);
    if (value === undefined) {
      problems.push(`${flagName(key)} (or ${envName(key)}) is required`);
    }
    return value;
  };

  const id = required("id");
  if (id !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(id.value)) {
    problems.push(`${id.source}: a node id is a lowercase DNS label (e.g. n1), got "${id.value}"`);
  }
  const dataDir = required("dataDir");
  const listenRaw = required("listen");
  const listen = listenRaw === undefined ? "" : checkHostPort(listenRaw, problems);
  const advertiseRaw = raw.get("advertise");
  const advertise = advertiseRaw === undefined ? listen : checkHostPort(advertiseRaw, problems);

  const initialCluster = new Map<string, string>();
  const clusterRaw = required("initialCluster");
  if (clusterRaw !== undefined) {
    for (const member of clusterRaw.value.split(",").filter((m) => m.trim() !== "")) {
      const [name, address, ...rest] = member.trim().split("=");
      if (!name || !address || rest.length > 0) {
        problems.push(`${clusterRaw.source}: expected id=host:port, got "${member}"`);
        continue;
      }
      if (initialCluster.has(name))
        problems.push(`${clusterRaw.source}: "${name}" is listed twice`);
      const hostPort = checkHostPort({ value: address, source: clusterRaw.source }, problems);
      const sharing = [...initialCluster].find(([other, at]) => other !== name && at === hostPort);
      if (sharing !== undefined) {
        problems.push(
          `${clusterRaw.source}: ${sharing[0]} and ${name} are both at ${hostPort}; each member needs its own address`,
        );
      }
      initialCluster.set(name, hostPort);
    }
    if (id !== undefined && !initialCluster.has(id.value)) {
      problems.push(
        `${clusterRaw.source}: must include this node ("${id.value}"), got ${[...initialCluster.keys()].join(", ") || "nothing"}`,
      );
    }
    const own = id === undefined ? undefined : initialCluster.get(id.value);
    if (own !== undefined && listenRaw !== undefined && !reachableAt(own, advertiseRaw, listen)) {
      // The peers dial the address --initial-cluster gives: one nobody serves keeps this node
      // out of the cluster for good (etcd refuses the same mismatch at bootstrap).
      problems.push(
        `${clusterRaw.source}: says ${id?.value} is at ${own}, but it ${
          advertiseRaw === undefined
            ? `listens on ${listen} (--listen)`
            : `advertises ${advertise} (--advertise)`
        }; the others would dial an address it does not serve. Make them the same${
          advertiseRaw === undefined
            ? ", or give the address others reach it at with --advertise"
            : ""
        }`,
      );
    }
  }

  let tls: NodeConfig["tls"];
  const [cert, key, ca] = [raw.get("tlsCert"), raw.get("tlsKey"), raw.get("tlsCa")];
  if (cert !== undefined || key !== undefined || ca !== undefined) {
    if (cert === undefined || key === undefined || ca === undefined) {
      problems.push("TLS needs all of --tls-cert, --tls-key and --tls-ca");
    } else {
      const clientAuth = raw.get("tlsClientAuth")?.value ?? "true";
      tls = {
        certFile: cert.value,
        keyFile: key.value,
        caFile: ca.value,
        clientAuth: clientAuth !== "false",
      };
    }
  }

  const logLevel = raw.get("logLevel")?.value ?? "info";
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    problems.push(
      `${raw.get("logLevel")?.source}: expected debug, info, warn, error or silent, got "${logLevel}"`,
    );
  }

  const forwarding = raw.get("forwarding")?.value ?? defaultRaftSettings.forwarding;
  if (forwarding !== "raft" && forwarding !== "rpc") {
    problems.push(`${raw.get("forwarding")?.source}: expected raft or rpc, got "${forwarding}"`);
  }

  const raft: RaftSettings = {
    tickMs: integer(raw.get("tickMs"), defaultRaftSettings.tickMs, 1, problems),
    electionTicks: integer(
      raw.get("electionTicks"),
      defaultRaftSettings.electionTicks,
      2,
      problems,
    ),
    heartbeatTicks: integer(
      raw.get("heartbeatTicks"),
      defaultRaftSettings.heartbeatTicks,
      1,
      problems,
    ),
    snapshotThreshold: integer(
      raw.get("snapshotThreshold"),
      defaultRaftSettings.snapshotThreshold,
      1,
      problems,
    ),
    snapshotJitter: fraction(
      raw.get("snapshotJitter"),
      defaultRaftSettings.snapshotJitter,
      problems,
    ),
    snapshotIntervalMs: integer(
      raw.get("snapshotIntervalMs"),
      defaultRaftSettings.snapshotIntervalMs,
      0,
      problems,
    ),
    trailingEntries: integer(
      raw.get("trailingEntries"),
      defaultRaftSettings.trailingEntries,
      0,
      problems,
    ),
    trailingBytes: integer(
      raw.get("trailingBytes"),
      defaultRaftSettings.trailingBytes,
      0,
      problems,
    ),
    forwarding: forwarding === "rpc" ? "rpc" : "raft",
  };
  if (raft.heartbeatTicks >= raft.electionTicks) {
    problems.push(
      `heartbeat ticks (${raft.heartbeatTicks}) must be fewer than election ticks (${raft.electionTicks})`,
    );
  }
  const tokenRaw = raw.get("initialClusterToken");
  const initialClusterToken = tokenRaw?.value ?? DEFAULT_INITIAL_CLUSTER_TOKEN;
  if (tokenRaw !== undefined && !/^[\x21-\x7e]{1,128}$/.test(tokenRaw.value)) {
    problems.push(
      `${tokenRaw.source}: expected 1 to 128 printable ASCII characters without spaces, got "${tokenRaw.value}"`,
    );
  }
  const maxResourceBytes = integer(raw.get("maxResourceBytes"), 1024 * 1024, 64, problems);
  const quotaBytes = integer(raw.get("quotaBytes"), defaultQuotaBytes(), 0, problems);
  const leaderHoldMs = integer(raw.get("leaderHoldMs"), DEFAULT_LEADER_HOLD_MS, 0, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    id: id?.value ?? "",
    dataDir: dataDir?.value ?? "",
    listen,
    advertise,
    initialCluster,
    initialClusterToken,
    tls,
    maxResourceBytes,
    quotaBytes,
    leaderHoldMs,
    raft,
    logLevel: logLevel as NodeConfig["logLevel"],
  };
}
