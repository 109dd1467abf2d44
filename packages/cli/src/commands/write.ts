import { clone, create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { type ID, IDSchema, type Resource, ResourceSchema, TenancySchema } from "@raftstore/proto";
import { type Command, Option } from "commander";
import { addConnectionOptions, addTenancyOptions, runClient } from "../client-command.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { UsageError } from "../errors.js";
import { readJsonDocument } from "../input.js";
import { resourceFromJson, resourceToJson } from "../resource-json.js";
import { DEFAULT_TENANCY, formatType, parseType, type TenancyFlags } from "../resource-name.js";

interface WriteFlags extends ConnectionFlags, TenancyFlags {
  file?: string;
  ifVersion?: string;
  metadata: string[];
}

/** The value of --if-version that asks for a blanket write. */
const ANY_VERSION = "any";

/**
 * Splits `[TYPE NAME] [JSON]`: a last argument that starts with "{" is the document; what is
 * left must be nothing or a TYPE and a NAME.
 */
export function splitWriteArguments(args: Array<string | undefined>): {
  typeAndName?: [string, string];
  json?: string;
} {
  const given = args.filter((a): a is string => a !== undefined);
  const last = given.at(-1);
  const json = last?.trimStart().startsWith("{") ? given.pop() : undefined;
  if (given.length === 0) return { json };
  if (given.length === 2) return { typeAndName: given as [string, string], json };
  throw new UsageError(
    `expected TYPE NAME (e.g. demo.v1.Artist web) and/or a JSON document, got ${given.map((a) => JSON.stringify(a)).join(" ")}`,
  );
}

function agree(field: string, fromJson: string, fromCommandLine: string): void {
  if (fromJson !== "" && fromJson !== fromCommandLine) {
    throw new UsageError(
      `the JSON says ${field} ${JSON.stringify(fromJson)} but the command line says ${JSON.stringify(fromCommandLine)}`,
    );
  }
}

/**
 * The id to write: the JSON's id, with what the command line names filled in. A field both
 * give must agree: a write never lands somewhere other than where either source points.
 */
export function mergeId(
  jsonId: ID | undefined,
  typeAndName: [string, string] | undefined,
  flags: TenancyFlags,
): ID {
  const id = jsonId === undefined ? create(IDSchema) : clone(IDSchema, jsonId);
  if (typeAndName === undefined && id.name === "") {
    throw new UsageError(
      "name the resource: TYPE NAME arguments (e.g. demo.v1.Artist web), or an id in the JSON",
    );
  }
  if (typeAndName !== undefined) {
    const [typeText, name] = typeAndName;
    const type = parseType(typeText);
    if (id.type !== undefined)
      agree("id.type", formatType(id.type).replace(/^\.\.$/, ""), typeText);
    agree("id.name", id.name, name);
    id.type = type;
    id.name = name;
  }
  id.tenancy ??= create(TenancySchema);
  if (flags.partition !== undefined)
    agree("id.tenancy.partition", id.tenancy.partition, flags.partition);
  if (flags.namespace !== undefined)
    agree("id.tenancy.namespace", id.tenancy.namespace, flags.namespace);
  id.tenancy.partition = flags.partition ?? (id.tenancy.partition || DEFAULT_TENANCY);
  id.tenancy.namespace = flags.namespace ?? (id.tenancy.namespace || DEFAULT_TENANCY);
  return id;
}

function parseMetadata(entries: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new UsageError(`--metadata: expected key=value, got "${entry}"`);
    metadata[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return metadata;
}

/** `raftstore write`: creates or updates a resource. */
export function registerWrite(program: Command, context: CommandContext): void {
  const command = program
    .command("write")
    .summary("Create or update a resource")
    .description(
      "Create or update a resource. Without a version it is a blanket write (the server reads, applies and retries); with one, a compare-and-swap",
    )
    .argument("[type]", "the resource's type, group.groupVersion.kind (or give the id in the JSON)")
    .argument("[name]", "the resource's name")
    .argument("[json]", "the resource as JSON (protobuf JSON of raftstore.resource.v1.Resource)")
    .option("-f, --file <file>", 'read the resource JSON from a file ("-" for stdin)');
  addTenancyOptions(command);
  command
    .option(
      "--if-version <version>",
      `write only if the stored version is this one (compare-and-swap). Default: the JSON's version, if any; "${ANY_VERSION}" writes whatever is stored`,
    )
    .addOption(
      new Option("--metadata <key=value>", "set a metadata entry (repeatable)")
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], "none"),
    );
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    examples(
      "raftstore write demo.v1.Artist web --metadata genre=jazz",
      `raftstore write demo.v1.Artist web '{"metadata":{"genre":"jazz"}}'`,
      "raftstore write --file artist.json",
      "raftstore read demo.v1.Artist web > a.json && $EDITOR a.json && raftstore write -f a.json   # CAS on the version read",
      `echo '{"id":{"name":"web","type":{"group":"demo","groupVersion":"v1","kind":"Artist"}}}' | raftstore write -f -`,
    ),
  );
  command.action(
    async (
      typeArg: string | undefined,
      nameArg: string | undefined,
      jsonArg: string | undefined,
      flags: WriteFlags,
    ) => {
      const { typeAndName, json: inline } = splitWriteArguments([typeArg, nameArg, jsonArg]);
      const document = await readJsonDocument(context.io, { inline, file: flags.file });
      const source = flags.file === undefined ? "the JSON argument" : flags.file;
      const resource: Resource =
        document === undefined ? create(ResourceSchema) : resourceFromJson(document, source);
      resource.id = mergeId(resource.id, typeAndName, flags);
      Object.assign(resource.metadata, parseMetadata(flags.metadata));
      if (flags.ifVersion !== undefined) {
        resource.version = flags.ifVersion === ANY_VERSION ? "" : flags.ifVersion;
      }
      context.hints = {
        [Code.Aborted]:
          resource.version === ""
            ? "the write kept losing to concurrent writes of the same resource; retry it."
            : `the stored version is not ${JSON.stringify(resource.version)}: the resource changed since you read it. Read it again and retry, or pass --if-version ${ANY_VERSION} to overwrite whatever is stored.`,
        [Code.FailedPrecondition]:
          "the uid in the JSON is stale: the resource was deleted and re-created since. Read it again (it has a new uid) and retry.",
      };
      await runClient(context, flags, async ({ connections, call }) => {
        const response = await connections.resources().write({ resource }, call);
        if (response.resource !== undefined)
          printJson(context.io, resourceToJson(response.resource));
      });
    },
  );
}
