import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnChild } from "./child-process.js";
import { isChildExitedError } from "./errors.js";

const dir = mkdtempSync(join(tmpdir(), "e2e-child-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (name: string, script: string) =>
  spawnChild({
    name,
    command: process.execPath,
    args: ["-e", script],
    logFile: join(dir, `${name}.log`),
  });

describe("spawnChild", () => {
  it("hands over stdout line by line and reports how the child ended", async () => {
    const child = node("sleeper", "console.log('ready now'); setInterval(() => {}, 1000)");
    expect(await child.waitForLine((l) => l.startsWith("ready"), "say it is ready")).toBe(
      "ready now",
    );
    expect(child.exitStatus).toBeUndefined();
    expect(await child.kill()).toEqual({ exitCode: null, signal: "SIGKILL" });
  });

  it("terminates gracefully, and kills a child that ignores SIGTERM once the grace is over", async () => {
    const polite = node("polite", "console.log('ready'); setInterval(() => {}, 1000)");
    await polite.waitForLine((l) => l === "ready", "say it is ready");
    polite.pause();
    expect(await polite.terminate()).toEqual({ exitCode: null, signal: "SIGTERM" });

    const stubborn = node(
      "stubborn",
      "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)",
    );
    await stubborn.waitForLine((l) => l === "ready", "say it is ready");
    expect(await stubborn.terminate(200)).toEqual({ exitCode: null, signal: "SIGKILL" });
  });

  it("fails a wait with the child's exit and the end of its log when it dies first", async () => {
    const child = node(
      "crasher",
      "console.error('cannot open the data directory'); process.exit(3)",
    );
    const error = await child.waitForLine(() => true, "print anything").catch((e: unknown) => e);
    expect(isChildExitedError(error)).toBe(true);
    expect(String(error)).toMatch(
      /expected crasher to print anything, but it exited with exit code 3; its log \(.*crasher\.log\) ends with:\ncannot open the data directory/,
    );
    await expect(child.failOnExit("keep running")).rejects.toThrow(/exit code 3/);
  });
});
