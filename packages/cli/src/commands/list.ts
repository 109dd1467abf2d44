import { create } from "@bufbuild/protobuf";
import { TenancySchema } from "@raftstore/proto";
import { type Command, Option } from "commander";
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
import { DEFAULT_TENANCY, parseType, type TenancyFlags } from "../resource-name.js";
import { renderTable } from "../table.js";

interface ListFlags extends ConnectionFlags, TenancyFlags {
  namePrefix: string;
  consistency: string;
  output: "json" | "table";
}

/** `raftstore list TYPE`: the resources of a type, as a JSON array or a table. */
export function registerList(program: Command, context: CommandContext): void {
  const command = program
    .command("list")
    .summary("List the resources of a type")
    .description("List the resources of a type (every group version of it is a candidate)")
    .argument("<type>", "the type, group.groupVersion.kind (e.g. demo.v1.Artist)")
    .option("--name-prefix <prefix>", "only names that start with this", "");
  addTenancyOptions(command, { wildcard: true });
  addConsistencyOption(command);
  command.addOption(
    new Option("-o, --output <format>", "json (an array of resources) or table")
      .choices(["json", "table"])
      .default("json"),
  );
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    examples(
      "raftstore list demo.v1.Artist",
      "raftstore list demo.v1.Artist --partition '*' --namespace '*' -o table",
      "raftstore list demo.v1.Artist --name-prefix we | jq -r '.[].id.name'",
    ),
  );
  command.action(async (typeText: string, flags: ListFlags) => {
    const type = parseType(typeText);
    const tenancy = create(TenancySchema, {
      partition: flags.partition ?? DEFAULT_TENANCY,
      namespace: flags.namespace ?? DEFAULT_TENANCY,
    });
    await runClient(context, flags, async ({ connections, call }) => {
      const { resources } = await connections.resources().list(
        {
          type,
          tenancy,
          namePrefix: flags.namePrefix,
          consistency: readConsistency(flags.consistency),
        },
        call,
      );
      if (flags.output === "json") {
        printJson(context.io, resources.map(resourceToJson));
        return;
      }
      context.io.stdout.write(
        renderTable(
          ["NAME", "PARTITION", "NAMESPACE", "VERSION", "GENERATION", "UID"],
          resources.map((r) => [
            r.id?.name ?? "",
            r.id?.tenancy?.partition ?? "",
            r.id?.tenancy?.namespace ?? "",
            r.version,
            r.generation,
            r.id?.uid ?? "",
          ]),
        ),
      );
    });
  });
}
