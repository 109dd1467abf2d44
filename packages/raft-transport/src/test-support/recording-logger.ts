import type { Logger } from "@raftstore/raft";

export interface LogRecord {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A Logger that keeps every record, for tests that check what was logged. */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[] = [];

  debug(fields: object, message = ""): void {
    this.records.push({ level: "debug", fields: fields as Record<string, unknown>, message });
  }
  info(fields: object, message = ""): void {
    this.records.push({ level: "info", fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message = ""): void {
    this.records.push({ level: "warn", fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message = ""): void {
    this.records.push({ level: "error", fields: fields as Record<string, unknown>, message });
  }

  /** Records at `level` whose message contains `text`. */
  find(level: LogRecord["level"], text: string): LogRecord[] {
    return this.records.filter((r) => r.level === level && r.message.includes(text));
  }
}
