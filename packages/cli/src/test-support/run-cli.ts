import { PassThrough, Readable, Writable } from "node:stream";
import type { Transport } from "@connectrpc/connect";
import { runCli } from "../cli.js";
import type { CliIo, OutputStream, StopRequest } from "../io.js";

/** What a run of the CLI in-process printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Collects what is written; hands each complete line to `onLine` as it arrives. */
class Capture extends Writable {
  text = "";
  isTTY = false;
  private pending = "";
  constructor(private readonly onLine?: (line: string) => void) {
    super();
  }
  override _write(chunk: Buffer | string, _encoding: string, callback: () => void): void {
    const text = chunk.toString();
    this.text += text;
    if (this.onLine !== undefined) {
      const lines = (this.pending + text).split("\n");
      this.pending = lines.pop() ?? "";
      for (const line of lines) this.onLine(line);
    }
    callback();
  }
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** What `--file -` reads. */
  stdin?: string;
  createTransport?: (baseUrl: string) => Transport;
  /** Receives a function that delivers a stop request (a fake Ctrl-C) while the command runs. */
  onStarted?: (stop: (request: StopRequest) => void) => void;
  /** Called for every line written to stdout, as it is written. */
  onStdoutLine?: (line: string) => void;
}

/**
 * Runs `raftstore <argv>` inside the test process, with captured stdout and stderr, an empty
 * environment (no RAFTSTORE_* of the machine leaks in) and fake signals.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const stdout = new Capture(options.onStdoutLine);
  const stderr = new Capture();
  const listeners = new Set<(request: StopRequest) => void>();
  // A stop sent before the command listens waits for it, as a signal would not be lost.
  const pending: StopRequest[] = [];
  const io: CliIo = {
    stdout: stdout as OutputStream,
    stderr: stderr as OutputStream,
    stdin: options.stdin === undefined ? new PassThrough() : Readable.from([options.stdin]),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    selfCommand: "raftstore",
    onStop(listener) {
      listeners.add(listener);
      for (const request of pending.splice(0)) listener(request);
      return () => listeners.delete(listener);
    },
    exitNow(code) {
      throw new Error(`the CLI asked to exit the process at once with code ${code}`);
    },
    createTransport: options.createTransport,
  };
  options.onStarted?.((request) => {
    if (listeners.size === 0) pending.push(request);
    for (const listener of [...listeners]) listener(request);
  });
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
