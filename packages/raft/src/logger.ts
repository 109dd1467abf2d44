/**
 * The structured logger the engine writes to: the subset of pino's API it uses, so a pino
 * logger (or a child of one) can be passed as is. The first argument holds the fields, the
 * second the message.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

const ignore = () => {};

/** A logger that drops everything: the default, so that a library never writes to stdout. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
