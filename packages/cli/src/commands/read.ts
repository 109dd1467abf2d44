import { Code } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  addConnectionOptions,
  addConsistencyOption,
  addTenancyOptions,
  readConsistency,
  runClient,
} from "../client-command.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { resourceToJson } from "../resource-json.js";
import { describeId, resourceId, type TenancyFlags } from "../resource-name.js";

interface ReadFlags extends ConnectionFlags, TenancyFlags {
  uid?: string;
  consistency: string;
}

/** `raftstore read TYPE NAME`: one resource, as JSON. */
export function registerRead(program: Command, context: CommandContext): void {
  const command = program
    .command("read")
    .summary("Read one resource")
    .description("Read one resource and print it as JSON")
    .argument("<type>", "the resource's type, group.groupVersion.kind (e.g. demo.v1.Artist)")
    .argument("<name>", "the resource's name");
  addTenancyOptions(command);
  command.option("--uid <uid>", "fail unless the stored resource has this uid (this incarnation)");
  addConsistencyOption(command);
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    examples(
      "raftstore read demo.v1.Artist web",
      "raftstore read demo.v1.Artist web --namespace music --consistency eventual",
      "raftstore read demo.v1.Artist web | jq .metadata",
    ),
  );
  command.action(async (type: string, name: string, flags: ReadFlags) => {
    const id = resourceId(type, name, flags);
    context.hints = {
      [Code.NotFound]:
        flags.uid === undefined
          ? `${describeId(id)} does not exist`
          : `${describeId(id)} with uid ${flags.uid} does not exist (it may have been re-created with another uid)`,
    };
    await runClient(context, flags, async ({ connections, call }) => {
      const response = await connections
        .resources()
        .read({ id, consistency: readConsistency(flags.consistency) }, call);
      if (response.resource !== undefined) printJson(context.io, resourceToJson(response.resource));
    });
  });
}
