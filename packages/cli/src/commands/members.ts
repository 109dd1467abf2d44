import { toJson } from "@bufbuild/protobuf";
import { ListMembersResponseSchema } from "@raftstore/proto/operator/v1";
import { type Command, Option } from "commander";
import { addConnectionOptions, runClient } from "../client-command.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { renderTable } from "../table.js";

interface MembersFlags extends ConnectionFlags {
  output: "json" | "table";
}

/** `raftstore members list`. */
export function registerMembers(program: Command, context: CommandContext): void {
  const members = program.command("members").description("The members of the cluster");
  const list = members
    .command("list")
    .description("List the members of the cluster and where they listen")
    .addOption(
      new Option("-o, --output <format>", "table or json")
        .choices(["table", "json"])
        .default("table"),
    );
  addConnectionOptions(list);
  list.addHelpText("after", examples("raftstore members list", "raftstore members list -o json"));
  list.action(async (flags: MembersFlags) => {
    await runClient(context, flags, async ({ connections, call }) => {
      const response = await connections.operator().listMembers({}, call);
      if (flags.output === "json") {
        printJson(context.io, toJson(ListMembersResponseSchema, response));
        return;
      }
      context.io.stdout.write(
        renderTable(
          ["ID", "URL", "VOTER"],
          response.members.map((m) => [m.id, m.url, m.voter ? "yes" : "no"]),
        ),
      );
    });
  });
}
