import { constants } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { addConnectionOptions, runClient } from "../client-command.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import { confirm } from "../confirm.js";
import type { ConnectionFlags } from "../connections.js";
import { CommandFailedError, InvalidInputError, UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { createProgress } from "../progress.js";
import { renderSnapshotReport, snapshotReport } from "../snapshot-report.js";

interface InspectFlags {
  json?: boolean;
}

/** The snapshot codec, loaded by the snapshot commands only: other commands start faster. */
const codec = () => import("@raftstore/snapshot");

/**
 * Reads and verifies a whole snapshot file: a backup (`snapshot save`), or a snapshot file of a
 * node's data directory (`<data-dir>/snapshots/*.snap`, the same contents in checksummed
 * chunks, with the Raft index, term and members). A missing or unreadable file is invalid input.
 */
async function inspectFile(context: CommandContext, file: string) {
  const path = resolve(context.io.cwd, file);
  const { inspectSnapshot, readSnapshotFile } = await codec();
  try {
    if (!(await isNodeSnapshotFile(path))) {
      return snapshotReport(file, await inspectSnapshot(readSnapshotFile(path)));
    }
    const { openSnapshotFile } = await import("@raftstore/raft-wal");
    const source = await openSnapshotFile(path);
    try {
      return snapshotReport(file, await inspectSnapshot(source.read()), source.meta);
    } finally {
      await source.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR") {
      throw new InvalidInputError(`cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The contents of a node's snapshot file, verified chunk by chunk as they are read. */
async function* nodeSnapshotContents(path: string): AsyncGenerator<Uint8Array> {
  const { openSnapshotFile } = await import("@raftstore/raft-wal");
  const source = await openSnapshotFile(path);
  try {
    yield* source.read();
  } finally {
    await source.close();
  }
}

/**
 * Refuses, before anything is streamed, a FILE whose directory does not exist, is not a
 * directory, or cannot be written to: the temporary file next to FILE would fail later, with a
 * message naming that file rather than FILE.
 */
async function checkWritableDirectory(file: string, directory: string): Promise<void> {
  let problem: string | undefined;
  try {
    if (!(await stat(directory)).isDirectory()) problem = `${directory} is not a directory`;
    else await access(directory, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") problem = `the directory ${directory} does not exist`;
    else if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      problem = `the directory ${directory} cannot be written to (${code})`;
    } else throw error;
  }
  if (problem !== undefined) {
    throw new InvalidInputError(`cannot save to ${file}: ${problem}; nothing was saved`);
  }
}

/** Whether the file at `path` starts like a snapshot file of a node's data directory. */
async function isNodeSnapshotFile(path: string): Promise<boolean> {
  const { isSnapshotFilePrefix } = await import("@raftstore/raft-wal");
  const handle = await open(path, "r");
  try {
    const prefix = new Uint8Array(8);
    const { bytesRead } = await handle.read(prefix, 0, prefix.length, 0);
    return isSnapshotFilePrefix(prefix.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function printReport(
  context: CommandContext,
  report: ReturnType<typeof snapshotReport>,
  json?: boolean,
) {
  if (json === true) printJson(context.io, report);
  else context.io.stdout.write(renderSnapshotReport(report));
}

/** `raftstore snapshot save|restore|inspect`. */
export function registerSnapshot(program: Command, context: CommandContext): void {
  const snapshot = program
    .command("snapshot")
    .description("Back up, restore and check snapshots of every resource in the cluster");

  const save = snapshot
    .command("save")
    .description(
      "Save a consistent point-in-time snapshot of every resource to FILE (written atomically, verified before it replaces FILE)",
    )
    .argument("<file>", "where to write the snapshot")
    .option("--json", "print the snapshot's description as JSON");
  addConnectionOptions(save);
  save.addHelpText(
    "after",
    `${examples("raftstore snapshot save backup.snap", "raftstore snapshot save /backups/$(date +%F).snap --endpoint http://10.0.0.2:7001")}
The snapshot holds everything acknowledged before the command started. FILE is replaced only
by a complete, verified snapshot; an interrupted or failed save leaves it as it was.
--timeout does not apply: a large snapshot takes as long as it takes (Ctrl-C stops it).
`,
  );
  save.action(async (file: string, flags: ConnectionFlags & InspectFlags) => {
    const target = resolve(context.io.cwd, file);
    await checkWritableDirectory(file, dirname(target));
    await runClient(context, flags, async ({ connections, signal }) => {
      const progress = createProgress(context.io.stderr, "saving snapshot");
      let received = 0;
      async function* chunks() {
        for await (const response of connections.operator().snapshotSave({}, { signal })) {
          received += response.chunk.byteLength;
          progress.update(received);
          yield response.chunk;
        }
      }
      const { writeSnapshotFile } = await codec();
      let report: Awaited<ReturnType<typeof inspectFile>> | undefined;
      try {
        // Written atomically; verified before it replaces FILE: a backup that cannot be
        // restored is worse than none, and a failed save leaves FILE as it was.
        await writeSnapshotFile(target, chunks(), {
          signal,
          verify: async (temporary) => {
            progress.stop();
            report = await inspectFile(context, temporary);
          },
        });
      } finally {
        progress.stop();
      }
      printReport(context, { ...(report as NonNullable<typeof report>), file }, flags.json);
    });
  });

  const restore = snapshot
    .command("restore")
    .description(
      "Replace every resource of the cluster with a snapshot's content. The whole file is verified first (every checksum, the count); a damaged one is refused",
    )
    .argument(
      "<file>",
      "a snapshot written by `raftstore snapshot save`, or a snapshot file of a node's data directory (<data-dir>/snapshots/*.snap)",
    )
    .option("-y, --yes", "do not ask for confirmation (required when there is no terminal)");
  addConnectionOptions(restore);
  restore.addHelpText(
    "after",
    `${examples("raftstore snapshot restore backup.snap", "raftstore snapshot restore backup.snap --yes   # in scripts")}
Every open watch ends with a reset (exit code 4, or a re-list with \`watch --follow\`).
--timeout does not apply to the upload.
`,
  );
  restore.action(async (file: string, flags: ConnectionFlags & { yes?: boolean }) => {
    const report = await inspectFile(context, file);
    if (flags.yes !== true) {
      const question = `Replace every resource of the cluster with the ${report.count} resources of ${file} (index ${report.index}, taken ${report.createdAt})?`;
      if (!(await confirm(context.io, question, "--yes"))) {
        throw new UsageError("not confirmed: nothing was restored");
      }
    }
    const path = resolve(context.io.cwd, file);
    const { readSnapshotFile } = await codec();
    // A node's snapshot file holds a backup's contents in checksummed chunks: those are sent.
    const contents =
      report.node === undefined ? readSnapshotFile(path) : nodeSnapshotContents(path);
    await runClient(context, flags, async ({ connections, signal }) => {
      const progress = createProgress(context.io.stderr, "restoring snapshot", report.bytes);
      let sent = 0;
      async function* requests() {
        for await (const chunk of contents) {
          sent += chunk.byteLength;
          progress.update(sent);
          yield { chunk };
        }
      }
      try {
        const response = await connections.operator().snapshotRestore(requests(), { signal });
        progress.stop();
        context.io.stdout.write(
          `restored ${response.resources} resources from ${file}; the restore took effect at index ${response.index}\n`,
        );
      } catch (error) {
        progress.stop();
        if (error instanceof ConnectError && error.code === Code.Unimplemented) {
          throw new CommandFailedError(
            `the cluster at ${connections.endpoint} cannot restore snapshots: its OperatorService does not implement SnapshotRestore (${error.rawMessage}).\nNothing was changed. ${file} is intact and verified (${report.count} resources).`,
            { exitCode: ExitCode.Failure, cause: error },
          );
        }
        throw error;
      }
    });
  });

  const inspect = snapshot
    .command("inspect")
    .description(
      "Verify a snapshot file completely (every checksum, the count) and describe it: header, resources, bytes, resources per type",
    )
    .argument("<file>", "a snapshot file")
    .option("--json", "print the description as JSON");
  inspect.addHelpText(
    "after",
    `${examples("raftstore snapshot inspect backup.snap", "raftstore snapshot inspect backup.snap --json | jq .count")}
A damaged file ends with exit code 6 and says where the damage is.
`,
  );
  inspect.action(async (file: string, flags: InspectFlags) => {
    printReport(context, await inspectFile(context, file), flags.json);
  });
}
