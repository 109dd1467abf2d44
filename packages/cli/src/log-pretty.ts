// Makes the JSON logs of `raftstore agent` (pino's format) readable in a terminal, for
// `raftstore dev`: `n1 │ 12:00:01.234 INFO  leader changed  leader=n2 term=2`.

const levels: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

const ansi = {
  reset: "\u001b[0m",
  dim: "\u001b[2m",
  red: "\u001b[31m",
  yellow: "\u001b[33m",
  bold: "\u001b[1m",
};

/** Colors for node ids, cycled: each node keeps its color for the whole run. */
const nodeColors = [
  "\u001b[36m",
  "\u001b[35m",
  "\u001b[32m",
  "\u001b[34m",
  "\u001b[33m",
  "\u001b[96m",
];

/** Fields every line has, shown in fixed places rather than as key=value. */
const fixedFields = new Set(["level", "time", "msg", "node", "pid", "hostname", "v"]);

function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "object" && value !== null && "message" in value) {
    // pino serializes errors as {type, message, stack}: the message is what a reader needs.
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value) ?? String(value);
}

export interface PrettyOptions {
  /** ANSI colors (a terminal, and NO_COLOR unset). */
  color: boolean;
  /** The width node ids are padded to, so that the columns line up. */
  idWidth: number;
  /** The node's position, which picks its color. */
  index: number;
}

/**
 * One line of a node's output, prefixed with its id. A pino JSON line becomes time, level,
 * message and its other fields as key=value; any other line (the CLI's own messages, a stack
 * trace) is kept as it is.
 */
export function prettyLogLine(id: string, line: string, options: PrettyOptions): string {
  const paint = (code: string, text: string) =>
    options.color ? `${code}${text}${ansi.reset}` : text;
  const prefix = `${paint(nodeColors[options.index % nodeColors.length] ?? "", id.padEnd(options.idWidth))} │ `;
  let record: Record<string, unknown> | undefined;
  if (line.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        record = parsed as Record<string, unknown>;
      }
    } catch {
      record = undefined; // not JSON after all: shown as it is
    }
  }
  if (record === undefined || typeof record.level !== "number") return `${prefix}${line}`;
  const level = levels[record.level] ?? String(record.level);
  const levelColor = record.level >= 50 ? ansi.red : record.level >= 40 ? ansi.yellow : ansi.dim;
  const time =
    typeof record.time === "number" ? `${paint(ansi.dim, formatTime(record.time))} ` : "";
  const fields = Object.entries(record)
    .filter(([key]) => !fixedFields.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(" ");
  const message = typeof record.msg === "string" ? record.msg : "";
  const text = record.level >= 40 ? paint(ansi.bold, message) : message;
  return `${prefix}${time}${paint(levelColor, level.padEnd(5))} ${text}${fields === "" ? "" : `  ${paint(ansi.dim, fields)}`}`;
}
