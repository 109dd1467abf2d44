// Errors of the CLI itself. Each maps to one exit code (exit-codes.ts) and has a stable `name`
// and a guard that checks the name, so they survive duplicate copies of this package. Errors of
// the server (ConnectError), of the configuration (ConfigError) and of snapshot files
// (SnapshotFormatError) are not wrapped: describe-error.ts explains them as they are.

/** The command line is wrong (exit code 2). The message says what was expected and found. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof Error && error.name === "UsageError";
}

/**
 * A document or file the user gave cannot be used (exit code 6): JSON that does not parse or
 * does not describe the expected message, a file that cannot be read.
 */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
}

export function isInvalidInputError(error: unknown): error is InvalidInputError {
  return error instanceof Error && error.name === "InvalidInputError";
}

/**
 * A command could not do its work for a reason the message explains, with what to do about
 * it (exit code 1 unless `exitCode` says otherwise): a busy port, a dev cluster that exists
 * with another size, a server that does not implement an operation.
 */
export class CommandFailedError extends Error {
  override readonly name = "CommandFailedError";
  readonly exitCode: number;
  constructor(message: string, options: ErrorOptions & { exitCode?: number } = {}) {
    super(message, options);
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isCommandFailedError(error: unknown): error is CommandFailedError {
  return error instanceof Error && error.name === "CommandFailedError";
}
