import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DevProcess, isAlive, startDev } from "./test-support/dev-process.js";
import { freePortRange } from "./test-support/ports.js";

let cwd: string | undefined;
let dev: DevProcess | undefined;

afterAll(async () => {
  for (const pid of (dev?.nodes ?? []).map((n) => n.pid))
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  if (cwd !== undefined) await rm(cwd, { recursive: true, force: true });
});

async function gone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || performance.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("a dev cluster whose `raftstore dev` is killed", () => {
  it("shuts its nodes down by themselves: none outlives it", async () => {
    cwd = await mkdtemp(join(tmpdir(), "raftstore-cli-orphans-"));
    dev = await startDev(
      ["--base-port", String(await freePortRange(3)), "--log-level", "warn"],
      cwd,
    );
    const pids = dev.nodes.map((n) => n.pid);
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);
    dev.process.kill("SIGKILL");
    await dev.exited;
    // Each node sees its IPC channel close and stops cleanly (no leadership transfer: the whole
    // cluster goes). Generous: the machine is shared.
    expect(await gone(pids, 30_000)).toEqual([]);
  }, 150_000);
});
