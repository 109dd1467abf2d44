import { Code } from "@connectrpc/connect";
import type { Command } from "commander";
import { addConnectionOptions, addTenancyOptions, runClient } from "../client-command.js";
import { type CommandContext, examples } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { resourceId, type TenancyFlags } from "../resource-name.js";

interface DeleteFlags extends ConnectionFlags, TenancyFlags {
  uid?: string;
  ifVersion?: string;
}

/** `raftstore delete TYPE NAME`: idempotent, or a compare-and-swap with --if-version. */
export function registerDelete(program: Command, context: CommandContext): void {
  const command = program
    .command("delete")
    .summary("Delete a resource")
    .description(
      "Delete a resource. Deleting what is not there succeeds; --if-version makes it a compare-and-swap",
    )
    .argument("<type>", "the resource's type, group.groupVersion.kind (e.g. demo.v1.Artist)")
    .argument("<name>", "the resource's name");
  addTenancyOptions(command);
  command
    .option("--uid <uid>", "delete only this incarnation of the resource")
    .option("--if-version <version>", "delete only if the stored version is this one");
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    examples(
      "raftstore delete demo.v1.Artist web",
      "raftstore delete demo.v1.Artist web --if-version 42   # exit code 4 if it changed",
    ),
  );
  command.action(async (type: string, name: string, flags: DeleteFlags) => {
    const id = resourceId(type, name, flags);
    context.hints = {
      [Code.Aborted]:
        flags.ifVersion === undefined
          ? "the resource kept changing while it was being deleted (a node older than the others cannot delete it whatever its version). Nothing was deleted; retry."
          : `the stored version is not ${JSON.stringify(flags.ifVersion)}: the resource changed since you read it. Nothing was deleted.`,
      [Code.FailedPrecondition]: `the stored resource is not the incarnation with uid ${flags.uid ?? ""}: it was deleted and re-created since. Nothing was deleted.`,
    };
    await runClient(context, flags, async ({ connections, call }) => {
      await connections.resources().delete({ id, version: flags.ifVersion ?? "" }, call);
    });
  });
}
