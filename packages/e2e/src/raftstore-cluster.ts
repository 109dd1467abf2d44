import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { OperatorService, type StatusResponse } from "@raftstore/proto/operator/v1";
import { freePorts } from "./free-port.js";
import { MemberProcess, type RaftstoreMember, toFlags } from "./raftstore-member.js";
import { type Probe, waitFor } from "./wait.js";

/** Node settings, as `raftstore agent` flags (camelCase); unset ones keep the server defaults. */
export interface RaftstoreSettings {
  /** One engine tick in ms (default 100: elections after 1–2 s with the default 10 ticks). */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Entries applied between snapshots (default 8192); small values force compaction. */
  snapshotThreshold?: number;
  /** The fraction a node lowers snapshotThreshold by, at random (default 0.25). */
  snapshotJitter?: number;
  /** The least time between threshold snapshots, in ms (default 30 s; 0 for none). */
  snapshotIntervalMs?: number;
  /** Entries kept behind a snapshot (default 10240). */
  trailingEntries?: number;
  maxResourceBytes?: number;
  /** How followers hand writes to the leader (default "raft"; "rpc": the ForwardingService). */
  forwarding?: "raft" | "rpc";
  /** Default "warn". */
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
}

export interface StartRaftstoreClusterOptions {
  /** Members, n1…nN. Default 3. */
  size?: number;
  /** Where data directories and logs go; default a new temporary directory. */
  dir?: string;
  settings?: RaftstoreSettings;
  /** Extra Node.js flags for every node process, e.g. `["--cpu-prof", "--cpu-prof-dir=…"]`. */
  nodeArgs?: readonly string[];
  /** How long a node may take to print "ready". Default 60 s: a cold start on a busy machine. */
  startTimeoutMs?: number;
  /**
   * Run the nodes from the built packages (`dist`, what a user runs) instead of the TypeScript
   * sources through tsx, whose loader and `__name` wrappers cost a node a few percent of CPU.
   * The packages must be built and current: the root `npm run bench:*` scripts build first
   * (cached by Nx); anything else runs `npm run build` itself. Default false.
   */
  compiled?: boolean;
}

/** A cluster of raftstore node processes on loopback, which a test can kill, pause and restart. */
export interface RaftstoreCluster {
  readonly dir: string;
  readonly members: readonly RaftstoreMember[];
  /** Every member's URL, in member order. */
  readonly urls: readonly string[];
  member(id: string): RaftstoreMember;
  /** A member's OperatorService.Status; fails after `timeoutMs` (default 1 s) without an answer. */
  status(id: string, timeoutMs?: number): Promise<StatusResponse>;
  /** Waits until a running member says it leads and returns its id. */
  leader(options?: { timeoutMs?: number; exclude?: readonly string[] }): Promise<string>;
  /** SIGKILL: the process dies at once, unsynced state and all. Resolves once it exited. */
  kill(id: string): Promise<void>;
  /** SIGSTOP: the process freezes (no ticks, no replies) with its sockets open. */
  pause(id: string): void;
  /** SIGCONT after `pause`. */
  resume(id: string): void;
  /** SIGTERM: a graceful stop (leadership handed over first). Resolves once it exited. */
  stop(id: string): Promise<void>;
  /** Starts a killed or stopped member again, on its data directory and port. */
  restart(id: string): Promise<void>;
  /**
   * Waits until every running member has applied everything the leader had committed when the
   * wait began. Returns that commit index.
   */
  waitForCaughtUp(options?: { timeoutMs?: number }): Promise<bigint>;
  /**
   * Rejects with ChildExitedError (the end of the member's log included) as soon as a member
   * process running now exits, for whatever reason: for racing a benchmark against, so that a
   * node that dies under load stops it with its reason, not with a missing `/proc` entry. A
   * rejection nobody awaits (the members exiting at `close()`) is not reported as unhandled.
   */
  failOnExit(expected: string): Promise<never>;
  /**
   * Ends every process: SIGTERM first when `graceful` (so `--cpu-prof` profiles get written),
   * SIGKILL otherwise or after 10 s. Removes the directory unless `keepDir`, or unless a member
   * exited on its own (not killed, stopped or closed by the harness): its log says why.
   */
  close(options?: { graceful?: boolean; keepDir?: boolean }): Promise<void>;
}

/**
 * Starts `size` raftstore nodes as child processes on loopback ports (fsync on, as always) and
 * waits until each prints "ready". Call `close()` when done; a harness that dies without it
 * still takes its nodes down (they exit when their stdin pipe closes).
 */
export async function startRaftstoreCluster(
  options: StartRaftstoreClusterOptions = {},
): Promise<RaftstoreCluster> {
  const size = options.size ?? 3;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "raftstore-e2e-")));
  await mkdir(dir, { recursive: true });
  const ports = await freePorts(size);
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  const initialCluster = addresses.map((a, i) => `n${i + 1}=${a}`).join(",");
  const flags = { ...toFlags(options.settings ?? {}), initialCluster };
  const members = addresses.map(
    (address, i) =>
      new MemberProcess(
        `n${i + 1}`,
        address,
        dir,
        flags,
        options.nodeArgs ?? [],
        options.startTimeoutMs ?? 60_000,
        options.compiled ?? false,
      ),
  );
  const sessions = new Map<string, GuardedSessionManager>();
  const operators = new Map<string, Client<typeof OperatorService>>();
  for (const m of members) {
    const session = new GuardedSessionManager(m.url);
    sessions.set(m.id, session);
    operators.set(
      m.id,
      createClient(
        OperatorService,
        createGrpcTransport({ baseUrl: m.url, sessionManager: session }),
      ),
    );
  }

  const member = (id: string): MemberProcess => {
    const found = members.find((m) => m.id === id);
    if (found === undefined) {
      throw new Error(
        `expected a member id among ${members.map((m) => m.id).join(", ")}, got "${id}"`,
      );
    }
    return found;
  };
  const status = (id: string, timeoutMs = 1000) =>
    (operators.get(id) as Client<typeof OperatorService>).status({}, { timeoutMs });

  const cluster: RaftstoreCluster = {
    dir,
    members,
    urls: members.map((m) => m.url),
    member,
    status,
    async leader(leaderOptions = {}) {
      const exclude = new Set(leaderOptions.exclude ?? []);
      return waitFor(
        "a leader among the running members",
        async (): Promise<Probe<string>> => {
          const candidates = members.filter((m) => m.state === "running" && !exclude.has(m.id));
          const answers = await Promise.all(
            candidates.map((m) => status(m.id, 500).catch(() => undefined)),
          );
          let best: StatusResponse | undefined;
          for (const answer of answers) {
            if (answer?.state === "leader" && (best === undefined || answer.term > best.term)) {
              best = answer;
            }
          }
          return best === undefined
            ? {
                done: false,
                seen: answers
                  .map((a, i) => `${candidates[i]?.id}: ${a?.state ?? "no answer"}`)
                  .join(", "),
              }
            : { done: true, value: best.id };
        },
        { timeoutMs: leaderOptions.timeoutMs ?? 30_000 },
      );
    },
    async kill(id) {
      const m = member(id);
      m.state = "killed";
      await m.child?.kill();
    },
    pause(id) {
      const m = member(id);
      m.child?.pause();
      m.state = "paused";
    },
    resume(id) {
      const m = member(id);
      m.child?.resume();
      m.state = "running";
    },
    async stop(id) {
      const m = member(id);
      const child = m.child;
      m.state = "stopped";
      await child?.terminate();
    },
    async restart(id) {
      const m = member(id);
      if (m.child !== undefined && m.child.exitStatus === undefined) {
        throw new Error(`expected ${id} to be killed or stopped before a restart; it still runs`);
      }
      await m.start();
    },
    async waitForCaughtUp(waitOptions = {}) {
      const leader = await cluster.leader({ timeoutMs: waitOptions.timeoutMs });
      const target = (await status(leader)).commitIndex;
      await waitFor(
        `every running member to apply index ${target}`,
        async (): Promise<Probe<void>> => {
          const running = members.filter((m) => m.state === "running");
          const applied = await Promise.all(
            running.map((m) => status(m.id).then((s) => s.appliedIndex)),
          );
          return applied.every((a) => a >= target)
            ? { done: true, value: undefined }
            : { done: false, seen: running.map((m, i) => `${m.id} at ${applied[i]}`).join(", ") };
        },
        { timeoutMs: waitOptions.timeoutMs ?? 30_000 },
      );
      return target;
    },
    failOnExit(expected) {
      const exits = members.flatMap((m) =>
        m.child === undefined || m.child.exitStatus !== undefined
          ? []
          : [m.child.failOnExit(expected)],
      );
      const first = Promise.race(exits);
      first.catch(() => {});
      return first;
    },
    async close(closeOptions = {}) {
      const died = members.some(
        (m) => m.state !== "killed" && m.state !== "stopped" && m.child?.exitStatus !== undefined,
      );
      for (const session of sessions.values()) session.abort();
      await Promise.all(
        members.map(async (m) => {
          const child = m.child;
          if (child === undefined || child.exitStatus !== undefined) return;
          await (closeOptions.graceful ? child.terminate() : child.kill());
          m.state = closeOptions.graceful ? "stopped" : "killed";
        }),
      );
      if (ownDir && !closeOptions.keepDir && !died) await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (error) {
    await cluster.close({ keepDir: true });
    throw error;
  }
  return cluster;
}
