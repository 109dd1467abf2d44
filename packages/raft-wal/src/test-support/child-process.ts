import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A child node process running one of the scripts in this folder, read line by line. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every line the child printed so far. */
  readonly lines: string[];
  /** Resolves with the first line (printed so far or later) that matches `pattern`. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves once the child has exited (and was reaped). */
  readonly exited: Promise<void>;
}

/**
 * Starts `node --conditions=@raftstore/source --import tsx <script>` with the same node binary,
 * so the child loads this package (and its dependencies) from their TypeScript sources.
 */
export function startChild(script: string, args: string[]): Child {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@raftstore/source",
      "--import",
      "tsx",
      join(import.meta.dirname, script),
      ...args,
    ],
    { cwd: join(import.meta.dirname, "..", ".."), stdio: ["pipe", "pipe", "inherit"] },
  );
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(line);
      if (match !== null) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  return {
    process: child,
    pid: child.pid,
    lines,
    exited,
    waitFor(pattern) {
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match !== null) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(() =>
          setImmediate(() =>
            reject(new Error(`${script} exited without printing ${pattern}: ${lines.join(" | ")}`)),
          ),
        );
      });
    },
  };
}
