import { createInterface } from "node:readline/promises";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";

/**
 * Asks a yes/no question on the terminal; resolves true only for "y" or "yes". Without a
 * terminal to ask (a script, a pipe), refuses with a usage error naming the flag that confirms
 * up front: a destructive command never proceeds on an unanswerable question.
 */
export async function confirm(io: CliIo, question: string, flag: string): Promise<boolean> {
  const interactive = (io.stdin as { isTTY?: boolean }).isTTY === true && io.stderr.isTTY === true;
  if (!interactive) {
    throw new UsageError(
      `${question.replace(/\?$/, "")}: pass ${flag} to confirm (no terminal to ask)`,
    );
  }
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
