#!/usr/bin/env node
// The `raftstore` command. Everything lives in runCli; this file only connects it to the process.
import { runCli } from "./cli.js";
import { DEV_STOP_MESSAGE } from "./io.js";
import { displayCommand } from "./self-command.js";

// `raftstore watch … | head -1`: the reader went away, which ends the command, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  selfCommand: displayCommand(process.argv[1], process.cwd()),
  onStop(listener) {
    const onSigint = () => listener("SIGINT");
    const onSigterm = () => listener("SIGTERM");
    // Started by `raftstore dev`: it says when it stops the cluster, and if it dies without a
    // word its IPC channel closes.
    const onMessage = (message: unknown) => {
      if (message === DEV_STOP_MESSAGE) listener("dev-stop");
    };
    const onDisconnect = () => listener("disconnect");
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
    process.on("message", onMessage);
    process.on("disconnect", onDisconnect);
    return () => {
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigterm);
      process.off("message", onMessage);
      process.off("disconnect", onDisconnect);
    };
  },
  exitNow: (exitCode) => process.exit(exitCode),
});

// Exit explicitly once stdout and stderr are flushed: an idle HTTP/2 session or an IPC channel
// must not keep a finished command alive.
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) => new Promise<void>((resolve) => stream.write("", () => resolve())),
  ),
);
process.exit(code);
