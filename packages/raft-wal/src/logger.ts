/**
 * The structured logger the stores write to: the subset of pino's API they use, so a pino logger
 * (or a child of one) can be passed as is. The first argument holds the fields, the second the
 * message.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

const ignore = () => {};

function toStderr(level: string) {
  return (fields: object, message?: string) => {
    process.stderr.write(`${JSON.stringify({ level, msg: message, ...fields })}\n`);
  };
}

/**
 * The default logger: warnings and errors as JSON lines on stderr, nothing else. Recovery
 * repairs a torn tail with a warning, and that must reach someone even when no logger is given;
 * a library never writes to stdout.
 */
export const stderrLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: toStderr("warn"),
  error: toStderr("error"),
};

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
