import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { ChildExitedError } from "./errors.js";

/** How a child process ended. */
export interface ExitStatus {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnChildOptions {
  /** A short name for messages ("n1", "etcd m2"). */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** The child's stderr goes here (appended), so a failing run can be diagnosed afterwards. */
  logFile: string;
  /**
   * Keep a pipe to the child's stdin open for its lifetime. A child that exits when its stdin
   * ends (as the raftstore node of this package does) then dies with the harness, even when the
   * harness is killed without a chance to clean up.
   */
  stdinPipe?: boolean;
}

/** A running child process and what it printed on stdout, line by line. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Undefined while it runs. */
  readonly exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  /** Every stdout line so far, in order. */
  readonly lines: readonly string[];
  /**
   * Resolves with the first stdout line (already printed, or to come) that `match` accepts.
   * @throws ChildExitedError if the child exits first, with the end of its log.
   */
  waitForLine(match: (line: string) => boolean, expected: string): Promise<string>;
  /**
   * Rejects with ChildExitedError (with the end of its log) when the child exits, for racing
   * against a wait that needs it running. Never resolves.
   */
  failOnExit(expected: string): Promise<never>;
  /** Sends a signal (no-op once it exited). */
  signal(signal: NodeJS.Signals): void;
  /**
   * SIGSTOP. A stopped process cannot notice that its harness died (it reads no stdin), so a
   * small watchdog shell kills it if this process goes away before `resume`.
   */
  pause(): void;
  /** SIGCONT after `pause`, and the watchdog goes. */
  resume(): void;
  /** SIGKILL (resuming it first if stopped does not matter: SIGKILL ends stopped processes too). */
  kill(): Promise<ExitStatus>;
  /**
   * A graceful stop: resumes it if paused, sends SIGTERM, and sends SIGKILL if it has not exited
   * after `graceMs` (default 10 s), so that a child that hangs on shutdown cannot hang the caller.
   */
  terminate(graceMs?: number): Promise<ExitStatus>;
}

// Every child still running. On exit of the harness they are all killed, so no test or
// benchmark leaves a cluster behind, whatever way it ended.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills (SIGKILL) every child this process started and that still runs. Synchronous. */
export function killAllChildren(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone: nothing left to clean up.
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", killAllChildren);
}

/** The last `bytes` of a log file, for error messages. */
export function logTail(file: string, bytes = 2000): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.length <= bytes ? text.trimEnd() : `…${text.slice(-bytes).trimEnd()}`;
  } catch (error) {
    return `(cannot read ${file}: ${(error as Error).message})`;
  }
}

/** A shell that SIGKILLs `pid` once this process is gone. */
function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn(
    "/bin/sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done; kill -KILL ${pid} 2>/dev/null`,
    ],
    { stdio: "ignore" },
  );
  watchdog.on("error", () => {});
  return watchdog;
}

/** Spawns a child process whose stderr goes to a log file and whose stdout is read by line. */
export function spawnChild(options: SpawnChildOptions): Child {
  installExitHook();
  const log = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      env: options.env ?? process.env,
      stdio: [options.stdinPipe ? "pipe" : "ignore", "pipe", log],
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
  // Listen before anything else: an "error" event without a listener would crash the harness.
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once("error", reject);
  });
  spawnFailed.catch(() => {});
  if (child.pid === undefined) {
    throw new Error(`could not start ${options.name} (${options.command}): no process id`);
  }
  running.add(child);
  // A dead child's stdin pipe breaks; that is how it ends, not an error of the harness.
  child.stdin?.on("error", () => {});

  const lines: string[] = [];
  const lineListeners = new Set<(line: string) => void>();
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      for (const listener of lineListeners) listener(line);
    });
  }
  let exitStatus: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (exitCode, signal) => {
      running.delete(child);
      exitStatus = { exitCode, signal };
      resolve(exitStatus);
    });
  });
  let watchdog: ChildProcess | undefined;
  void exited.then(() => watchdog?.kill("SIGKILL"));

  const handle: Child = {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    get exitStatus() {
      return exitStatus;
    },
    exited,
    lines,
    waitForLine(match, expected) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const listener = (line: string) => {
          if (!match(line)) return;
          lineListeners.delete(listener);
          resolve(line);
        };
        lineListeners.add(listener);
        const died = (status: ExitStatus) => {
          if (!lineListeners.delete(listener)) return;
          reject(
            new ChildExitedError(
              options.name,
              status,
              expected,
              options.logFile,
              logTail(options.logFile),
            ),
          );
        };
        void exited.then(died);
        spawnFailed.catch((error: unknown) => {
          if (!lineListeners.delete(listener)) return;
          reject(error);
        });
      });
    },
    failOnExit(expected) {
      const failed = exited.then((status): never => {
        throw new ChildExitedError(
          options.name,
          status,
          expected,
          options.logFile,
          logTail(options.logFile),
        );
      });
      failed.catch(() => {});
      return failed;
    },
    signal(signal) {
      if (exitStatus === undefined) child.kill(signal);
    },
    pause() {
      if (exitStatus !== undefined) return;
      watchdog ??= startWatchdog(child.pid as number);
      child.kill("SIGSTOP");
    },
    resume() {
      if (exitStatus === undefined) child.kill("SIGCONT");
      watchdog?.kill("SIGKILL");
      watchdog = undefined;
    },
    kill() {
      if (exitStatus === undefined) child.kill("SIGKILL");
      return exited;
    },
    async terminate(graceMs = 10_000) {
      if (exitStatus !== undefined) return exitStatus;
      handle.resume();
      child.kill("SIGTERM");
      const timer = setTimeout(() => handle.kill(), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return handle;
}
