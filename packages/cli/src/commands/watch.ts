import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { WatchListRequestSchema } from "@raftstore/proto";
import type { Command } from "commander";
import { addConnectionOptions, addTenancyOptions, runClient } from "../client-command.js";
import { type CommandContext, examples } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { watchEventToJson } from "../resource-json.js";
import { DEFAULT_TENANCY, parseType, type TenancyFlags } from "../resource-name.js";
import { followWatch } from "../watch-follower.js";

interface WatchFlags extends ConnectionFlags, TenancyFlags {
  namePrefix: string;
  follow?: boolean;
}

/** `raftstore watch TYPE`: watch events as JSON lines until Ctrl-C. */
export function registerWatch(program: Command, context: CommandContext): void {
  const command = program
    .command("watch")
    .summary("Stream changes to the resources of a type")
    .description(
      "Stream the resources of a type as JSON lines (WatchEvent): the current set as upserts, one endOfSnapshot, then every change, until Ctrl-C",
    )
    .argument("<type>", "the type, group.groupVersion.kind (e.g. demo.v1.Artist)")
    .option("--name-prefix <prefix>", "only names that start with this", "");
  addTenancyOptions(command, { wildcard: true });
  command.option(
    "--follow",
    "survive resets (a snapshot restore) and lost connections: re-open the watch and print only what changed meanwhile",
  );
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    `${examples(
      "raftstore watch demo.v1.Artist",
      "raftstore watch demo.v1.Artist --namespace '*' --follow | jq -c 'select(.upsert) | .upsert.resource.id.name'",
    )}
Without --follow, a reset ends the watch with exit code 4 and a lost connection with exit code 5;
Ctrl-C ends it with exit code 0. --timeout does not apply to a watch.
`,
  );
  command.action(async (typeText: string, flags: WatchFlags) => {
    const request = create(WatchListRequestSchema, {
      type: parseType(typeText),
      tenancy: {
        partition: flags.partition ?? DEFAULT_TENANCY,
        namespace: flags.namespace ?? DEFAULT_TENANCY,
      },
      namePrefix: flags.namePrefix,
    });
    context.hints = {
      [Code.Aborted]:
        "the watch was reset: a snapshot restore replaced the data it watched. Run it again (it starts with the new set), or use --follow to re-list and continue automatically.",
    };
    await runClient(context, flags, async ({ connections, signal }) => {
      await followWatch(
        connections.resources(),
        request,
        (event) => context.io.stdout.write(`${JSON.stringify(watchEventToJson(event))}\n`),
        {
          follow: flags.follow === true,
          signal,
          notice: (message) => context.io.stderr.write(`${context.command}: ${message}\n`),
          sleep: (ms, abort) => sleep(ms, undefined, { signal: abort }),
        },
      );
    });
  });
}
