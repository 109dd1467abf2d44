import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { JsonValue } from "@bufbuild/protobuf";
import { InvalidInputError, UsageError } from "./errors.js";
import type { CliIo } from "./io.js";
import { parseJsonText } from "./resource-json.js";

/** Where a JSON document comes from: an argument, `--file F`, or `--file -` for stdin. */
export interface DocumentSource {
  /** The document given as an argument. */
  inline?: string;
  /** `--file`: a path, or "-" for stdin. */
  file?: string;
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Reads the JSON document of a command, or undefined when none was given. Giving it twice (an
 * argument and --file) is a usage error: the CLI never picks one silently.
 */
export async function readJsonDocument(
  io: CliIo,
  source: DocumentSource,
): Promise<JsonValue | undefined> {
  if (source.inline !== undefined && source.file !== undefined) {
    throw new UsageError("give the JSON either as an argument or with --file, not both");
  }
  if (source.inline !== undefined) return parseJsonText(source.inline, "the JSON argument");
  if (source.file === undefined) return undefined;
  if (source.file === "-") return parseJsonText(await readStdin(io), "stdin");
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, source.file), "utf8");
  } catch (error) {
    throw new InvalidInputError(`cannot read ${source.file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseJsonText(text, source.file);
}
