import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A node of a running dev cluster, as its banner lists it. */
export interface DevNodeInfo {
  id: string;
  url: string;
  pid: number;
}

/** `raftstore dev` running as a real process, from source under tsx. */
export interface DevProcess {
  readonly process: ChildProcess;
  readonly nodes: DevNodeInfo[];
  readonly leader: string;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in the output so far or to come. */
  waitFor(
    pattern: RegExp,
    stream?: "stdout" | "stderr",
    timeoutMs?: number,
  ): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const bin = join(import.meta.dirname, "..", "bin.ts");

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Starts `node --conditions=@raftstore/source --import tsx src/bin.ts dev <args>` in `cwd`,
 * without the machine's RAFTSTORE_* variables, and resolves once it printed that a leader
 * exists (or rejects with its output when it exits first or takes longer than `timeoutMs`).
 */
export async function startDev(
  args: string[],
  cwd: string,
  timeoutMs = 90_000,
): Promise<DevProcess> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("RAFTSTORE_")),
  );
  const child = spawn(
    process.execPath,
    ["--conditions=@raftstore/source", "--import", tsx, bin, "dev", ...args],
    {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const text = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.on("data", (chunk: Buffer) => {
      text[stream] += chunk.toString();
      for (const wake of [...waiters]) wake();
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => {
      resolve({ code, signal });
      for (const wake of [...waiters]) wake();
    });
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const waitFor = (pattern: RegExp, stream: "stdout" | "stderr" = "stdout", ms = 30_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`no ${pattern} on ${stream} within ${ms}ms:\n${text.stdout}\n${text.stderr}`),
        );
      }, ms);
      function check() {
        const match = pattern.exec(text[stream]);
        if (match !== null || ended) {
          clearTimeout(timer);
          waiters.delete(check);
          if (match !== null) resolve(match);
          else reject(new Error(`dev exited before ${pattern}:\n${text.stdout}\n${text.stderr}`));
        }
      }
      waiters.add(check);
      check();
    });
  await waitFor(/Ctrl-C stops the cluster\./, "stdout", timeoutMs);
  const nodes = [...text.stdout.matchAll(/^ {2}(n\d+) +(http:\/\/\S+) +pid (\d+)/gm)].map((m) => ({
    id: m[1] as string,
    url: m[2] as string,
    pid: Number(m[3]),
  }));
  const leader = /(n\d+) is the leader/.exec(text.stdout)?.[1] ?? "";
  return { process: child, nodes, leader, output: () => ({ ...text }), waitFor, exited };
}
