import pino from "pino";

/** The structured logger of a node: pino's API, which every package's Logger is a subset of. */
export type NodeLogger = pino.Logger;

/** A JSON logger on stderr (stdout stays free for what commands print). */
export function createLogger(level: string, bindings: Record<string, string> = {}): NodeLogger {
  return pino({ level, base: bindings }, pino.destination(2));
}
