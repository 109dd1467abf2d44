import { Code } from "@connectrpc/connect";
import { ReadConsistency, StatusSchema } from "@raftstore/proto";
import type { Command } from "commander";
import { addConnectionOptions, addTenancyOptions, runClient } from "../client-command.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { UsageError } from "../errors.js";
import { readJsonDocument } from "../input.js";
import { messageFromJson, resourceToJson } from "../resource-json.js";
import { describeId, resourceId, type TenancyFlags } from "../resource-name.js";

interface WriteStatusFlags extends ConnectionFlags, TenancyFlags {
  key: string;
  file?: string;
  uid?: string;
  ifVersion?: string;
}

/** `raftstore write-status TYPE NAME --key K STATUS`: one controller's status on a resource. */
export function registerWriteStatus(program: Command, context: CommandContext): void {
  const command = program
    .command("write-status")
    .summary("Write a controller's status on a resource")
    .description(
      "Write one controller's status on a resource (its generation is kept, its version changes)",
    )
    .argument("<type>", "the resource's type, group.groupVersion.kind (e.g. demo.v1.Artist)")
    .argument("<name>", "the resource's name")
    .argument(
      "[json]",
      "the status as JSON (protobuf JSON of raftstore.resource.v1.Status); observedGeneration defaults to the resource's current generation",
    )
    .requiredOption("--key <controller>", 'the status key, e.g. "demo/artist-controller"')
    .option("-f, --file <file>", 'read the status JSON from a file ("-" for stdin)');
  addTenancyOptions(command);
  command
    .option("--uid <uid>", "the resource's uid (default: read the resource first and use its uid)")
    .option("--if-version <version>", "write only if the stored version is this one");
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    examples(
      `raftstore write-status demo.v1.Artist web --key demo/checker '{"conditions":[{"type":"Valid","state":"STATE_TRUE"}]}'`,
      "raftstore write-status demo.v1.Artist web --key demo/checker --file status.json --if-version 42",
    ),
  );
  command.action(
    async (type: string, name: string, json: string | undefined, flags: WriteStatusFlags) => {
      const id = resourceId(type, name, flags);
      const document = await readJsonDocument(context.io, { inline: json, file: flags.file });
      if (document === undefined) {
        throw new UsageError("give the status as a JSON argument or with --file");
      }
      const status = messageFromJson(StatusSchema, document, flags.file ?? "the JSON argument");
      context.hints = {
        [Code.NotFound]: `${describeId(id)} does not exist`,
        [Code.Aborted]: `the stored version is not ${JSON.stringify(flags.ifVersion ?? "")}: the resource changed since you read it. Read it again and retry.`,
        [Code.FailedPrecondition]:
          "the uid is stale: the resource was deleted and re-created since. Read it again (it has a new uid) and retry.",
      };
      await runClient(context, flags, async ({ connections, call }) => {
        const client = connections.resources();
        if (id.uid === "" || status.observedGeneration === "") {
          const { resource } = await client.read({ id, consistency: ReadConsistency.STRONG }, call);
          if (id.uid === "") id.uid = resource?.id?.uid ?? "";
          // What a controller does: report on the generation it looked at, the current one.
          if (status.observedGeneration === "")
            status.observedGeneration = resource?.generation ?? "";
        }
        const response = await client.writeStatus(
          { id, key: flags.key, version: flags.ifVersion ?? "", status },
          call,
        );
        if (response.resource !== undefined)
          printJson(context.io, resourceToJson(response.resource));
      });
    },
  );
}
