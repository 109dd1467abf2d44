import type { Readable, Writable } from "node:stream";
import type { Transport } from "@connectrpc/connect";

/**
 * What asks a running command to stop: a signal; `dev-stop`, the parent `raftstore dev`
 * stopping the whole cluster (an IPC message); `disconnect`, that parent gone without a word.
 */
export type StopRequest = "SIGINT" | "SIGTERM" | "dev-stop" | "disconnect";

/** The IPC message `raftstore dev` sends a node to stop it as part of the whole cluster. */
export const DEV_STOP_MESSAGE = "raftstore-dev-stop";

/** A stream the CLI writes to; `isTTY` decides colors and progress bars. */
export type OutputStream = Writable & { readonly isTTY?: boolean };

/**
 * Everything a command touches outside its arguments. `bin.ts` passes the process's own;
 * tests pass buffers and fakes, so that every command runs in-process, deterministically.
 */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Read by `--file -`. */
  readonly stdin: Readable;
  /** Where RAFTSTORE_* settings and NO_COLOR are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (data directories, files) resolve against it. */
  readonly cwd: string;
  /** The command line that runs this CLI again, for the hints it prints (`raftstore`, `node …`). */
  readonly selfCommand: string;
  /**
   * Subscribes to stop requests (SIGINT, SIGTERM, and from a parent `raftstore dev` its stop
   * message or its IPC channel closing); returns the unsubscribe function. Commands subscribe
   * only while they run.
   */
  onStop(listener: (request: StopRequest) => void): () => void;
  /** Ends the process at once: a second Ctrl-C must not wait for a graceful shutdown. */
  exitNow(code: number): void;
  /**
   * The transport to a node at `baseUrl`. Default: gRPC over HTTP/2 (TLS with `--tls-*`).
   * Tests hand in router transports to fake a server.
   */
  readonly createTransport?: (baseUrl: string) => Transport;
}

/** The exit code of a process stopped by `request` (128 + the signal's number). */
export function exitCodeForStop(request: StopRequest): number {
  return request === "SIGINT" ? 130 : 143;
}

/**
 * Whether a node stopping for `request` should hand leadership to a peer first: yes when it
 * stops alone (a signal: a restart, an upgrade), no when the whole dev cluster stops with it.
 */
export function stopsAlone(request: StopRequest): boolean {
  return request === "SIGINT" || request === "SIGTERM";
}
