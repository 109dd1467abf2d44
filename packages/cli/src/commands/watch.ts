import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ReadConsistency, type WatchListRequest, WatchListRequestSchema } from "@raftstore/proto";
import type { Command } from "commander";
import { addConnectionOptions, addTenancyOptions, runClient } from "../client-command.js";
import { type CommandContext, examples } from "../command-context.js";
import type { ConnectionFlags, Connections } from "../connections.js";
import { watchEventToJson } from "../resource-json.js";
import { DEFAULT_TENANCY, parseType, type TenancyFlags } from "../resource-name.js";
import { followWatch } from "../watch-follower.js";

interface WatchFlags extends ConnectionFlags, TenancyFlags {
  namePrefix: string;
  follow?: boolean;
}

/** How long the strong read before a re-opened watch may take. */
const CATCH_UP_TIMEOUT_MS = 5000;

/**
 * Before a lost watch is re-opened: moves to the next of several endpoints (the node may be
 * gone), and reads strongly through it. A strong read through a node is confirmed by the
 * leader and served from that node's own copy once it has applied everything committed when
 * the read began, which includes everything the lost node had shown; a WatchList opened after
 * it starts from at least that state. (With --forwarding rpc a follower has the leader answer
 * strong reads, so this only holds through the leader.) What is read does not matter: a name
 * under the watched type, found or not.
 */
async function catchUp(
  connections: Connections,
  request: WatchListRequest,
  signal: AbortSignal,
): Promise<string> {
  const { endpoints } = connections.options;
  const next = endpoints[(endpoints.indexOf(connections.endpoint) + 1) % endpoints.length];
  if (next !== undefined) connections.use(next);
  const id = {
    type: request.type,
    tenancy: {
      partition: wildcardAsDefault(request.tenancy?.partition),
      namespace: wildcardAsDefault(request.tenancy?.namespace),
    },
    name: "raftstore-watch-catch-up",
  };
  try {
    await connections
      .resources()
      .read(
        { id, consistency: ReadConsistency.STRONG },
        { signal, timeoutMs: CATCH_UP_TIMEOUT_MS },
      );
  } catch (error) {
    const rpcError = ConnectError.from(error);
    // Answered after the read was confirmed: nothing there, or stored under another version.
    if (rpcError.code !== Code.NotFound && rpcError.code !== Code.InvalidArgument) {
      if (signal.aborted || rpcError.code !== Code.DeadlineExceeded) throw rpcError;
      throw new ConnectError(`${connections.endpoint} did not answer in time`, Code.Unavailable);
    }
  }
  return connections.endpoint;
}

const wildcardAsDefault = (name: string | undefined) =>
  name === undefined || name === "*" ? DEFAULT_TENANCY : name;

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
    "survive resets (a snapshot restore) and lost connections: re-open the watch (on the next of several --endpoint nodes, once it has caught up) and print only what changed meanwhile",
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
        // The endpoint in use at each (re-)opening: catchUp may move to another.
        { watchList: (req, options) => connections.resources().watchList(req, options) },
        request,
        (event) => context.io.stdout.write(`${JSON.stringify(watchEventToJson(event))}\n`),
        {
          follow: flags.follow === true,
          signal,
          notice: (message) => context.io.stderr.write(`${context.command}: ${message}\n`),
          sleep: (ms, abort) => sleep(ms, undefined, { signal: abort }),
          catchUp: (abort) => catchUp(connections, request, abort),
        },
      );
    });
  });
}
