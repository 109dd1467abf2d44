import { constants } from "node:fs";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type Child, spawnChild } from "./child-process.js";
import { EtcdNotFoundError } from "./errors.js";
import { freePorts } from "./free-port.js";
import { type Probe, waitFor } from "./wait.js";

/**
 * The `etcd` binary on the PATH of `env` (default: this process's). Nothing is installed.
 * @throws EtcdNotFoundError, whose message says how to install etcd.
 */
export async function findEtcd(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dirs = (env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const dir of dirs) {
    const candidate = join(dir, "etcd");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: look in the next one.
    }
  }
  throw new EtcdNotFoundError(dirs);
}

export interface StartEtcdClusterOptions {
  /** Members m1…mN. Default 3. */
  size?: number;
  /** Where data directories and logs go; default a new temporary directory. */
  dir?: string;
  /** The etcd binary; default `findEtcd()`. */
  etcdBinary?: string;
  /** How long the cluster may take to report healthy. Default 60 s. */
  startTimeoutMs?: number;
}

/** A cluster of etcd processes on loopback. */
export interface EtcdCluster {
  readonly dir: string;
  /** Every member's client URL (gRPC and the JSON gateway share it), in member order. */
  readonly urls: readonly string[];
  /** The members' process ids, in member order. */
  readonly pids: readonly number[];
  /** SIGTERM (etcd stops cleanly), SIGKILL after 10 s. Removes the directory unless `keepDir`. */
  close(options?: { keepDir?: boolean }): Promise<void>;
}

/**
 * Starts a 3-member (by default) etcd cluster on loopback ports with etcd's defaults, fsync on
 * included (etcd syncs its WAL before it acknowledges, unless --unsafe-no-fsync is given, which
 * this never does), each member in its own data directory. Resolves once every member reports
 * healthy on /health (a leader is elected and the member can serve).
 */
export async function startEtcdCluster(
  options: StartEtcdClusterOptions = {},
): Promise<EtcdCluster> {
  const etcd = options.etcdBinary ?? (await findEtcd());
  const size = options.size ?? 3;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "raftstore-etcd-")));
  await mkdir(dir, { recursive: true });
  const ports = await freePorts(2 * size);
  const members = Array.from({ length: size }, (_, i) => ({
    name: `m${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
  }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  const token = `raftstore-bench-${ports[0]}`;
  const children: Child[] = [];

  const close = async (closeOptions: { keepDir?: boolean } = {}) => {
    await Promise.all(children.map((child) => child.terminate()));
    if (ownDir && !closeOptions.keepDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    for (const m of members) {
      children.push(
        spawnChild({
          name: `etcd ${m.name}`,
          command: etcd,
          args: [
            `--name=${m.name}`,
            `--data-dir=${join(dir, m.name)}`,
            `--listen-client-urls=${m.clientUrl}`,
            `--advertise-client-urls=${m.clientUrl}`,
            `--listen-peer-urls=${m.peerUrl}`,
            `--initial-advertise-peer-urls=${m.peerUrl}`,
            `--initial-cluster=${initialCluster}`,
            "--initial-cluster-state=new",
            `--initial-cluster-token=${token}`,
            "--logger=zap",
            "--log-level=warn",
          ],
          logFile: join(dir, `${m.name}.log`),
        }),
      );
    }
    const healthy = waitFor(
      "every etcd member to report healthy",
      async (): Promise<Probe<void>> => {
        const health = await Promise.all(
          members.map((m) =>
            fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) })
              .then((r) => r.json() as Promise<{ health?: string }>)
              .then((body) => body.health === "true")
              .catch(() => false),
          ),
        );
        return health.every(Boolean)
          ? { done: true, value: undefined }
          : { done: false, seen: members.map((m, i) => `${m.name}: ${health[i]}`).join(", ") };
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 100 },
    );
    await Promise.race([healthy, ...children.map((c) => c.failOnExit("start and serve"))]);
  } catch (error) {
    await close({ keepDir: true });
    throw error;
  }
  return { dir, urls: members.map((m) => m.clientUrl), pids: children.map((c) => c.pid), close };
}
