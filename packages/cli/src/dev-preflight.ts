import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import type { DevNode } from "./dev-supervisor.js";
import { CommandFailedError, UsageError } from "./errors.js";

// What `raftstore dev` checks and decides before it starts any node.

/** Where a dev cluster lives: ids n1…nN, ports base…base+N-1, data under `dir`/<id>. */
export function planDevCluster(options: {
  nodes: number;
  basePort: number;
  host: string;
  dir: string;
}): DevNode[] {
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) {
    throw new UsageError(`--nodes: expected 1 to 9 nodes, got ${options.nodes}`);
  }
  const last = options.basePort + options.nodes - 1;
  if (!Number.isInteger(options.basePort) || options.basePort < 1 || last > 65535) {
    throw new UsageError(
      `--base-port: expected a port such that ${options.nodes} consecutive ports fit below 65536, got ${options.basePort}`,
    );
  }
  return Array.from({ length: options.nodes }, (_, index) => {
    const id = `n${index + 1}`;
    const port = options.basePort + index;
    return {
      id,
      index,
      port,
      url: `http://${options.host}:${port}`,
      dataDir: join(options.dir, id),
    };
  });
}

/** `n1=127.0.0.1:7001,n2=…`, the agents' --initial-cluster. */
export function initialClusterOf(nodes: readonly DevNode[], host: string): string {
  return nodes.map((n) => `${n.id}=${host}:${n.port}`).join(",");
}

/** Resolves whether `port` can be bound on `host` right now. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(false);
      else reject(error);
    });
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Fails with a clear message if any node's port is taken. */
export async function checkPorts(nodes: readonly DevNode[], host: string): Promise<void> {
  for (const node of nodes) {
    let free: boolean;
    try {
      free = await isPortFree(host, node.port);
    } catch (error) {
      throw new CommandFailedError(
        `cannot listen on ${host}:${node.port} for ${node.id}: ${(error as Error).message}. Pick other ports with --base-port.`,
        { cause: error },
      );
    }
    if (!free) {
      throw new CommandFailedError(
        `port ${node.port} on ${host} (for ${node.id}) is already in use, by another \`raftstore dev\` or another program.\nStop it, or pick other ports: raftstore dev --base-port ${node.port + 100}`,
      );
    }
  }
}

const SHAPE_FILE = "dev-cluster.json";

/**
 * Remembers how many nodes the cluster in `dir` has, and refuses to start it with another
 * number: nodes that already hold a 3-voter configuration would never agree with new nodes
 * bootstrapped with 5 voters, and the "cluster" would be two. Growing a cluster takes
 * membership changes, which dev does not do; starting over takes deleting the directory.
 *
 * Also draws, once per directory, the cluster's `--initial-cluster-token` and returns it: every
 * dev cluster runs on the same ports, so without it a node of an earlier one (a data directory
 * copied or kept from it) would have the same cluster id as this one, and could join it.
 */
export async function checkClusterShape(
  dir: string,
  shownDir: string,
  nodes: number,
): Promise<{ clusterToken: string }> {
  const path = join(dir, SHAPE_FILE);
  let recorded: number | undefined;
  let clusterToken: string | undefined;
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as {
      nodes?: unknown;
      clusterToken?: unknown;
    };
    if (typeof parsed.nodes === "number") recorded = parsed.nodes;
    if (typeof parsed.clusterToken === "string") clusterToken = parsed.clusterToken;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new CommandFailedError(
        `cannot read ${join(shownDir, SHAPE_FILE)} (${(error as Error).message}). Delete ${shownDir} to start a new dev cluster (its data is lost).`,
        { cause: error },
      );
    }
  }
  if (recorded !== undefined && recorded !== nodes) {
    throw new CommandFailedError(
      `${shownDir} holds a ${recorded}-node dev cluster, and --nodes asks for ${nodes}.\nRun \`raftstore dev --nodes ${recorded}\` to start it again, or delete ${shownDir} to start a new ${nodes}-node cluster (its data is lost).`,
    );
  }
  if (recorded === undefined || clusterToken === undefined) {
    clusterToken ??= `dev-${randomBytes(8).toString("hex")}`;
    await writeFile(path, `${JSON.stringify({ nodes, clusterToken }, null, 2)}\n`);
  }
  return { clusterToken };
}

/** What a node's /readyz says, or undefined when it does not answer. */
export async function readiness(
  url: string,
  signal: AbortSignal,
): Promise<{ leader: string | null; term: number } | undefined> {
  try {
    const response = await fetch(`${url}/readyz`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]),
    });
    const body = (await response.json()) as { leader?: unknown; term?: unknown };
    return {
      leader: typeof body.leader === "string" ? body.leader : null,
      term: typeof body.term === "number" ? body.term : 0,
    };
  } catch {
    // Not listening yet, or too slow: the caller asks again.
    return undefined;
  }
}
