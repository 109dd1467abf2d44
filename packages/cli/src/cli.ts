import { Command, CommanderError } from "commander";
import { type CommandContext, commandPath } from "./command-context.js";
import { registerAgent, type Server } from "./commands/agent.js";
import { registerDelete } from "./commands/delete.js";
import { registerDev } from "./commands/dev.js";
import { registerList } from "./commands/list.js";
import { registerMembers } from "./commands/members.js";
import { registerRead } from "./commands/read.js";
import { registerSnapshot } from "./commands/snapshot.js";
import { registerStatus } from "./commands/status.js";
import { registerWatch } from "./commands/watch.js";
import { registerWrite } from "./commands/write.js";
import { registerWriteStatus } from "./commands/write-status.js";
import { describeError } from "./describe-error.js";
import { ExitCode } from "./exit-codes.js";
import type { CliIo } from "./io.js";

/** The CLI's version, printed by `raftstore --version`. */
export const CLI_VERSION = "0.0.0";

const overview = `
Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 conflict (version, uid, watch reset),
5 unavailable (unreachable, no leader: retry), 6 invalid input, 7 store full (quota),
130 interrupted (143 SIGTERM).

Environment: RAFTSTORE_ENDPOINT (default http://127.0.0.1:7001), RAFTSTORE_TLS_CA,
RAFTSTORE_TLS_CERT, RAFTSTORE_TLS_KEY for client commands; RAFTSTORE_<SETTING> for agent.

Start here:
  raftstore dev                                   a local 3-node cluster
  raftstore write demo.v1.Artist web --metadata genre=jazz
  raftstore read demo.v1.Artist web
  raftstore status
`;

/**
 * Whether `argv` runs (or asks for help on) `agent`, the one command that needs the server
 * package. Loading it costs about a second, which no other command should pay.
 */
function needsServer(argv: readonly string[]): boolean {
  const operands = argv.filter((arg) => !arg.startsWith("-"));
  return operands[0] === "agent" || (operands[0] === "help" && operands[1] === "agent");
}

/**
 * Builds the `raftstore` program. A new one per run: commander keeps parse state in it.
 * `server` is the server package, when the command is `agent`.
 */
export function createProgram(context: CommandContext, server?: Server): Command {
  const { io } = context;
  const program = new Command("raftstore")
    .description("A Raft-replicated store of typed resources: run nodes, use and operate a cluster")
    .version(CLI_VERSION, "-V, --version", "print the version")
    .option("--debug", "print stack traces of unexpected errors")
    .enablePositionalOptions()
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .addHelpText("after", overview)
    .hook("preAction", (_program, action) => {
      context.command = commandPath(action);
      context.debug = program.opts<{ debug?: boolean }>().debug === true;
    });
  program.configureHelp({ showGlobalOptions: true });
  registerAgent(program, context, server);
  const registrations = [
    registerDev,
    registerRead,
    registerWrite,
    registerDelete,
    registerList,
    registerWatch,
    registerWriteStatus,
    registerStatus,
    registerMembers,
    registerSnapshot,
  ];
  for (const register of registrations) register(program, context);
  return program;
}

/**
 * Runs `raftstore` with `argv` (the arguments after the program name) and resolves with its
 * exit code. Never throws for anything a command does: errors are reported on `io.stderr` as
 * what went wrong and what to do, and become exit codes (see ExitCode). `bin.ts` exits with it.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const context: CommandContext = { io, command: "raftstore", exitCode: ExitCode.Ok, debug: false };
  try {
    const server = needsServer(argv) ? await import("@raftstore/server") : undefined;
    const program = createProgram(context, server);
    await program.parseAsync([...argv], { from: "user" });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (or the help) already.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const report = describeError(error, context);
    io.stderr.write(`${context.command}: ${report.message}\n`);
    if (context.debug && error instanceof Error && error.stack !== undefined) {
      io.stderr.write(`${error.stack}\n`);
    }
    return report.exitCode;
  }
}
