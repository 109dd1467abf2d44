import { describe, expect, it } from "vitest";
import { FailureLog } from "./failure-log.js";

describe("FailureLog", () => {
  it("logs the first failure at once, then one line per interval counting what it stood for", () => {
    const log = new FailureLog(30_000);
    const lines = [];
    // A peer down for two minutes, retried every 1.5 s, each failure dropping two messages.
    for (let i = 0; i < 80; i++) {
      const line = log.failed(i * 1500, { newRun: i === 0, dropped: 2 });
      if (line !== undefined) lines.push({ at: i * 1500, ...line });
    }
    expect(lines).toEqual([
      { at: 0, failures: 1, dropped: 2 },
      { at: 30_000, failures: 20, dropped: 40 },
      { at: 60_000, failures: 20, dropped: 40 },
      { at: 90_000, failures: 20, dropped: 40 },
    ]);
  });

  it("logs the first failure of a new run at once, however recent the last line", () => {
    const log = new FailureLog(30_000);
    expect(log.failed(0, { newRun: true })).toEqual({ failures: 1, dropped: 0 });
    expect(log.failed(1000, { dropped: 1 })).toBeUndefined();
    // The stream worked for a while, then failed again: a new run.
    expect(log.failed(5000, { newRun: true, dropped: 3 })).toEqual({ failures: 2, dropped: 4 });
  });
});
