import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import { type Child, spawnChild } from "./child-process.js";
import type { RaftstoreSettings } from "./raftstore-cluster.js";
import { withTimeout } from "./wait.js";

/** What the harness last did to a member's process. */
export type MemberState = "running" | "paused" | "killed" | "stopped";

/** An engine event a node process reported on stdout. */
export type NodeEvent =
  | { type: "snapshotInstalled"; index: number }
  | { type: "snapshotTaken"; index: number }
  | { type: "leaderChange"; leader?: string; term: number };

/** One member of a process cluster. Its id, port and data directory survive restarts. */
export interface RaftstoreMember {
  readonly id: string;
  /** http://127.0.0.1:port: gRPC, gRPC-Web and Connect for clients, Raft for peers. */
  readonly url: string;
  readonly dataDir: string;
  /** The current incarnation's log (stderr); each restart appends to the same file. */
  readonly logFile: string;
  readonly state: MemberState;
  /** The current incarnation's process id (undefined before the first start). */
  readonly pid: number | undefined;
  /** Events the current incarnation reported so far. */
  events(): NodeEvent[];
  /** Resolves with the first event of the current incarnation that `match` accepts. */
  waitForEvent(match: (event: NodeEvent) => boolean, what: string): Promise<NodeEvent>;
}

const nodeScript = join(import.meta.dirname, `node-main${extname(import.meta.filename)}`);
/** The built node script, wherever this module runs from (the sources or `dist`). */
const compiledNodeScript =
  extname(import.meta.filename) === ".js"
    ? join(import.meta.dirname, "node-main.js")
    : join(import.meta.dirname, "..", "dist", "node-main.js");

/** The flags of `settings`, as the node process takes them (strings, log level "warn" by default). */
export function toFlags(settings: RaftstoreSettings): Record<string, string> {
  const flags: Record<string, string> = { logLevel: settings.logLevel ?? "warn" };
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) flags[key] = String(value);
  }
  return flags;
}

/** One member's process, started again on each restart. */
export class MemberProcess implements RaftstoreMember {
  readonly id: string;
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
  state: MemberState = "stopped";
  child: Child | undefined;
  readonly #flags: Record<string, string>;
  readonly #nodeArgs: readonly string[];
  readonly #startTimeoutMs: number;
  readonly #compiled: boolean;

  constructor(
    id: string,
    address: string,
    dir: string,
    flags: Record<string, string>,
    nodeArgs: readonly string[],
    startTimeoutMs: number,
    compiled = false,
  ) {
    this.id = id;
    this.url = `http://${address}`;
    this.dataDir = join(dir, id);
    this.logFile = join(dir, `${id}.log`);
    this.#flags = { ...flags, id, dataDir: this.dataDir, listen: address };
    this.#nodeArgs = nodeArgs;
    this.#startTimeoutMs = startTimeoutMs;
    this.#compiled = compiled;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.#compiled && !existsSync(compiledNodeScript)) {
      throw new Error(
        `the nodes run the built packages, and ${compiledNodeScript} is missing: run \`npm run build\` first (the root \`npm run bench:*\` scripts build before they run)`,
      );
    }
    const child = spawnChild({
      name: this.id,
      command: process.execPath,
      args: [
        ...this.#nodeArgs,
        ...(this.#compiled
          ? [compiledNodeScript]
          : ["--conditions=@raftstore/source", "--import", "tsx", nodeScript]),
        JSON.stringify(this.#flags),
      ],
      logFile: this.logFile,
      stdinPipe: true,
    });
    this.child = child;
    this.state = "running";
    await withTimeout(
      child.waitForLine((line) => line.startsWith("ready "), "print 'ready <url>'"),
      this.#startTimeoutMs,
      `${this.id} to print 'ready <url>' (its log: ${this.logFile})`,
    );
  }

  events(): NodeEvent[] {
    return (this.child?.lines ?? [])
      .filter((line) => line.startsWith("event "))
      .map((line) => JSON.parse(line.slice("event ".length)) as NodeEvent);
  }

  async waitForEvent(match: (event: NodeEvent) => boolean, what: string): Promise<NodeEvent> {
    const child = this.child;
    if (child === undefined) throw new Error(`${this.id} was never started`);
    const line = await child.waitForLine(
      (l) => l.startsWith("event ") && match(JSON.parse(l.slice("event ".length)) as NodeEvent),
      `report ${what}`,
    );
    return JSON.parse(line.slice("event ".length)) as NodeEvent;
  }
}
