import { describe, expect, it } from "vitest";
import { prettyLogLine } from "./log-pretty.js";

const plain = { color: false, idWidth: 3, index: 0 };

describe("pretty node logs", () => {
  it("shows a pino line as id, time, level, message and the other fields", () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    const line = JSON.stringify({
      level: 30,
      time,
      node: "n1",
      msg: "leader changed",
      leader: "n2",
      term: 2,
    });
    expect(prettyLogLine("n1", line, plain)).toBe(
      "n1  │ 03:04:05.006 INFO  leader changed  leader=n2 term=2",
    );
  });

  it("shows an error's message, and quotes values with spaces", () => {
    const line = JSON.stringify({
      level: 50,
      msg: "disk failed",
      err: { type: "Error", message: "EIO: i/o error", stack: "Error: EIO…" },
      path: "/var/lib/raft store",
    });
    expect(prettyLogLine("n12", line, plain)).toBe(
      'n12 │ ERROR disk failed  err="EIO: i/o error" path="/var/lib/raft store"',
    );
  });

  it("keeps lines that are not log records as they are", () => {
    expect(prettyLogLine("n1", "raftstore agent: cannot open data directory", plain)).toBe(
      "n1  │ raftstore agent: cannot open data directory",
    );
    expect(prettyLogLine("n1", "{not json", plain)).toBe("n1  │ {not json");
  });

  it("colors the id, the level and warnings only when asked to", () => {
    const line = JSON.stringify({ level: 40, msg: "slow disk sync" });
    const colored = prettyLogLine("n2", line, { color: true, idWidth: 2, index: 1 });
    expect(colored).toContain("\u001b[");
    const ansiCodes = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
    expect(colored.replace(ansiCodes, "")).toBe("n2 │ WARN  slow disk sync");
  });
});
