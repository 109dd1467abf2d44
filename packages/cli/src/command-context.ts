import type { Code } from "@connectrpc/connect";
import type { Command } from "commander";
import type { CliIo } from "./io.js";

/**
 * What every command's action shares with `runCli`: the io, the exit code it ends with, and
 * what error messages need (the command's name, the endpoint it talked to).
 */
export interface CommandContext {
  readonly io: CliIo;
  /** `raftstore read`: set before the action runs. */
  command: string;
  /** The node the command talks to, once known. */
  endpoint?: string;
  /** The exit code when the action returns normally (errors set their own). */
  exitCode: number;
  /** `--debug`: print stack traces of unexpected errors. */
  debug: boolean;
  /** What an RPC error code means for this command, for its error message (describe-error.ts). */
  hints?: Partial<Record<Code, string>>;
}

/** A command module adds its command(s) to the program. */
export type RegisterCommand = (program: Command, context: CommandContext) => void;

/** The full name of a command, `raftstore snapshot save`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Help text after the options: examples, one command a line. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join("\n")}\n`;
}

/** Writes a value as pretty JSON (two-space indent) followed by a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
