import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { DEV_STOP_MESSAGE } from "./io.js";
import { selfSpawnArguments } from "./self-command.js";

/** One node of a dev cluster. */
export interface DevNode {
  id: string;
  /** Position in the cluster, from 0. */
  index: number;
  port: number;
  url: string;
  dataDir: string;
}

/** How a node's process ended. */
export interface NodeExit {
  node: DevNode;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The supervisor asked it to stop (as opposed to: it exited on its own). */
  requested: boolean;
  /** It ignored SIGTERM past the timeout and was killed. */
  killed: boolean;
}

export interface DevSupervisorOptions {
  nodes: readonly DevNode[];
  /** Arguments of `raftstore agent` for a node (everything after "agent"). */
  agentArguments(node: DevNode): string[];
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** A line the node wrote to stdout or stderr. */
  onLine(node: DevNode, line: string): void;
  /** A node's process ended, after its last line. */
  onExit(exit: NodeExit): void;
}

/** The running nodes of a dev cluster, each a child process. */
export interface DevSupervisor {
  pidOf(id: string): number | undefined;
  /** Ids of the nodes whose process has not ended. */
  running(): string[];
  /**
   * Stops every running node: the stop message over IPC (SIGTERM if the channel is gone): the
   * node finishes requests in flight and closes its data directory, without handing leadership
   * to a peer that is stopping too. SIGKILL for any still running after `timeoutMs`. Resolves
   * with how each of them ended.
   */
  stop(timeoutMs: number): Promise<NodeExit[]>;
  /** SIGKILL to every running node, now (a second Ctrl-C). */
  killAll(): void;
}

interface ChildState {
  ended?: NodeExit;
  /** The supervisor sent it SIGTERM or SIGKILL. */
  requested: boolean;
  killed: boolean;
}

interface Child {
  node: DevNode;
  process: ChildProcess;
  state: ChildState;
  closed: Promise<NodeExit>;
}

/**
 * Starts each node as `raftstore agent` in a child process. Children run detached, in their
 * own process group: Ctrl-C in the terminal reaches only this supervisor, which then stops
 * them in order, and they never count one keypress as two. They keep an IPC channel to this
 * process; if it dies without stopping them (SIGKILL), the channel closes and each node
 * shuts itself down, so no node outlives its `raftstore dev`.
 */
export function startDevSupervisor(options: DevSupervisorOptions): DevSupervisor {
  const children = new Map<string, Child>();
  const prefix = selfSpawnArguments();
  for (const node of options.nodes) {
    const child = spawn(process.execPath, [...prefix, "agent", ...options.agentArguments(node)], {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      detached: true,
    });
    const state: ChildState = { requested: false, killed: false };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
        options.onLine(node, line),
      );
    }
    const closed = new Promise<NodeExit>((resolve) => {
      // "close" comes after the child's stdout and stderr ended: its last lines are out.
      child.once("close", (code, signal) => {
        const exit: NodeExit = {
          node,
          pid: child.pid,
          code,
          signal,
          requested: state.requested,
          killed: state.killed,
        };
        state.ended = exit;
        options.onExit(exit);
        resolve(exit);
      });
    });
    // A failure to spawn at all (ENOENT, EAGAIN) is followed by "close"; it must not throw.
    child.on("error", (error) =>
      options.onLine(node, `cannot start the node's process: ${error.message}`),
    );
    children.set(node.id, { node, process: child, state, closed });
  }

  const running = () => [...children.values()].filter((c) => c.state.ended === undefined);
  return {
    pidOf: (id) => children.get(id)?.process.pid,
    running: () => running().map((c) => c.node.id),
    async stop(timeoutMs) {
      const stopping = running();
      for (const child of stopping) {
        child.state.requested = true;
        if (child.process.connected) {
          child.process.send(DEV_STOP_MESSAGE, (error) => {
            if (error !== null && child.state.ended === undefined) child.process.kill("SIGTERM");
          });
        } else {
          child.process.kill("SIGTERM");
        }
      }
      return Promise.all(
        stopping.map(async (child) => {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), timeoutMs);
          });
          const first = await Promise.race([child.closed, timedOut]);
          clearTimeout(timer);
          if (first !== "timeout") return first;
          child.state.killed = true;
          child.process.kill("SIGKILL");
          return child.closed;
        }),
      );
    },
    killAll() {
      for (const child of running()) {
        child.state.requested = true;
        child.state.killed = true;
        child.process.kill("SIGKILL");
      }
    },
  };
}
