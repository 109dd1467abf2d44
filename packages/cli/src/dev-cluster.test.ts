import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_LOCK_FILE } from "./dev-lock.js";
import { ExitCode } from "./exit-codes.js";
import type { StopRequest } from "./io.js";
import { type DevProcess, isAlive, startDev } from "./test-support/dev-process.js";
import { freePortRange } from "./test-support/ports.js";
import { run } from "./test-support/run-cli.js";

// One real cluster for the whole file: `raftstore dev` from source under tsx, three
// `raftstore agent` child processes on random free ports, driven by the client commands.

let cwd: string;
let dev: DevProcess;
const url = (i: number) => dev.nodes[i]?.url ?? "";

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "raftstore-cli-devcluster-"));
  const base = await freePortRange(3);
  dev = await startDev(["--base-port", String(base), "--log-level", "info"], cwd);
}, 120_000);

afterAll(async () => {
  // Only after a failure is anything left: never leave processes behind.
  for (const pid of [dev?.process.pid, ...(dev?.nodes ?? []).map((n) => n.pid)]) {
    if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  await rm(cwd, { recursive: true, force: true });
});

describe("a dev cluster of three processes", () => {
  it("prints each node's endpoint and pid, the leader, and how to talk to it", async () => {
    expect(dev.nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3"]);
    expect(dev.nodes.every((n) => isAlive(n.pid))).toBe(true);
    expect(dev.nodes.map((n) => n.id)).toContain(dev.leader);
    // The suggested curl line works as printed: the Connect protocol's JSON over HTTP/1.1.
    const curl = /^ {2}curl -s -H 'content-type: application\/json' -d '(.*)' (http:\S+)$/m.exec(
      dev.output().stdout,
    );
    expect(curl).not.toBeNull();
    const response = await fetch(curl?.[2] ?? "", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: curl?.[1],
    });
    expect(response.status).toBe(200);
    const read = await run(["read", "demo.v1.Greeting", "hello", "--endpoint", url(2)]);
    expect(read.code).toBe(ExitCode.Ok);
    expect(JSON.parse(read.stdout).metadata).toEqual({ text: "hello, raftstore" });
    // Child logs are prefixed with the node id.
    expect(dev.output().stderr).toMatch(/^n\d +│ \d\d:\d\d:\d\d\.\d{3} INFO +node started/m);
  });

  it("takes a write through one node and serves it strongly through another", async () => {
    const written = await run([
      "write",
      "demo.v1.Artist",
      "web",
      "--metadata",
      "genre=jazz",
      "--endpoint",
      url(0),
    ]);
    expect(written.code).toBe(ExitCode.Ok);
    const version = JSON.parse(written.stdout).version as string;
    const read = await run([
      "read",
      "demo.v1.Artist",
      "web",
      "--consistency",
      "strong",
      "--endpoint",
      url(2),
    ]);
    expect(read.code).toBe(ExitCode.Ok);
    expect(JSON.parse(read.stdout)).toMatchObject({ version, metadata: { genre: "jazz" } });

    // A compare-and-swap with a stale version is a conflict (4) and changes nothing.
    const stale = await run([
      "write",
      "demo.v1.Artist",
      "web",
      "--if-version",
      "1",
      "--metadata",
      "genre=pop",
      "--endpoint",
      url(1),
    ]);
    expect(stale.code).toBe(ExitCode.Conflict);
    expect(stale.stderr).toContain('conflict: the stored version is not "1"');

    await run(["write", "demo.v1.Artist", "wes", "--endpoint", url(1)]);
    const listed = await run([
      "list",
      "demo.v1.Artist",
      "--name-prefix",
      "we",
      "--endpoint",
      url(1),
    ]);
    expect(JSON.parse(listed.stdout).map((r: { id: { name: string } }) => r.id.name)).toEqual([
      "web",
      "wes",
    ]);
    const table = await run([
      "list",
      "demo.v1.Artist",
      "-o",
      "table",
      "--consistency",
      "eventual",
      "--endpoint",
      url(2),
    ]);
    expect(table.stdout).toMatch(
      /^NAME +PARTITION +NAMESPACE +VERSION +GENERATION +UID\nweb +default +default /,
    );

    const deleted = await run(["delete", "demo.v1.Artist", "wes", "--endpoint", url(2)]);
    expect(deleted.code).toBe(ExitCode.Ok);
    const gone = await run(["read", "demo.v1.Artist", "wes", "--endpoint", url(0)]);
    expect(gone.code).toBe(ExitCode.NotFound);
    expect(gone.stderr).toBe(
      'raftstore read: not found: demo.v1.Artist "wes" in default/default does not exist\n',
    );
  });

  it("watches through one node the changes made through the others, until Ctrl-C", async () => {
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    const seen = (predicate: (line: string) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (lines.some(predicate)) resolve();
          else waiters.push(check);
        };
        check();
      });
    let stop: ((request: StopRequest) => void) | undefined;
    const watching = run(["watch", "demo.v1.Artist", "--endpoint", url(1)], {
      onStarted: (s) => {
        stop = s;
      },
      onStdoutLine: (line) => {
        lines.push(line);
        for (const wake of waiters.splice(0)) wake();
      },
    });
    await seen((l) => l === '{"endOfSnapshot":{}}');
    expect(lines.some((l) => l.includes('"name":"web"'))).toBe(true);
    await run(["write", "demo.v1.Artist", "miles", "--endpoint", url(0)]);
    await seen((l) => l.startsWith('{"upsert"') && l.includes('"name":"miles"'));
    await run(["delete", "demo.v1.Artist", "miles", "--endpoint", url(2)]);
    await seen((l) => l.startsWith('{"delete"') && l.includes('"name":"miles"'));
    stop?.("SIGINT");
    const ended = await watching;
    expect(ended.code).toBe(ExitCode.Ok);
    expect(lines.every((l) => JSON.parse(l) !== undefined)).toBe(true);
  });

  it("shows the leader, every member's indexes and the lag the leader sees", async () => {
    const result = await run(["status", "-o", "json", "--endpoint", url(1)]);
    expect(result.code).toBe(ExitCode.Ok);
    const status = JSON.parse(result.stdout);
    expect(status.leader).toBe(dev.leader);
    expect(status.members).toHaveLength(3);
    for (const member of status.members) {
      expect(member).toMatchObject({ reachable: true, term: status.term });
      expect(member.appliedIndex).toBeGreaterThan(0);
      expect(typeof member.lag).toBe("number");
    }
    const table = await run(["status", "--endpoint", url(0)]);
    expect(table.stdout).toContain(`leader: ${dev.leader} (term ${status.term})`);
    const members = await run(["members", "list", "--endpoint", url(2)]);
    expect(members.stdout).toContain(url(0));
  });

  it("saves a snapshot that inspect describes, and refuses to restore a corrupted one", async () => {
    const saved = await run(["snapshot", "save", "backup.snap", "--json", "--endpoint", url(2)], {
      cwd,
    });
    expect(saved.code).toBe(ExitCode.Ok);
    const report = JSON.parse(saved.stdout);
    expect(report.resourcesByType).toMatchObject({ "demo.v1.Artist": 1, "demo.v1.Greeting": 1 });
    const inspected = await run(["snapshot", "inspect", "backup.snap", "--json"], { cwd });
    expect(JSON.parse(inspected.stdout)).toEqual(report);
    expect((await readdir(cwd)).filter((f) => f.includes("backup"))).toEqual(["backup.snap"]);

    const bytes = await readFile(join(cwd, "backup.snap"));
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
    await writeFile(join(cwd, "corrupt.snap"), bytes);
    const refused = await run(
      ["snapshot", "restore", "corrupt.snap", "--yes", "--endpoint", url(0)],
      { cwd },
    );
    expect(refused.code).toBe(ExitCode.InvalidArgument);
    expect(refused.stderr).toContain("the snapshot is damaged, nothing was done with it");

    const restore = await run(
      ["snapshot", "restore", "backup.snap", "--yes", "--endpoint", url(0)],
      { cwd },
    );
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(ExitCode.Ok);
    expect(restore.stdout).toMatch(/^restored 2 resources from backup.snap/);
  });

  it("reports a node stopped from outside loudly and does not restart it; its leadership moves", async () => {
    const old = dev.nodes.find((n) => n.id === dev.leader);
    expect(old).toBeDefined();
    process.kill(old?.pid ?? 0, "SIGTERM");
    await dev.waitFor(new RegExp(`${old?.id} +│ .*handed leadership over to (n\\d)`), "stderr");
    await dev.waitFor(
      new RegExp(
        `✖ ${old?.id} \\(pid ${old?.pid}\\) exited with code 0 on its own\\. It is NOT restarted\\.`,
      ),
      "stderr",
    );
    await dev.waitFor(
      /2 of 3 nodes still run: the cluster keeps its quorum \(2 needed\)/,
      "stderr",
    );
    expect(isAlive(old?.pid ?? 0)).toBe(false);
    const survivor = dev.nodes.find((n) => n.id !== old?.id)?.url ?? "";
    const status = await run(["status", "-o", "json", "--endpoint", survivor]);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.leader).not.toBe(old?.id);
    expect(parsed.leader).not.toBeNull();
    expect(parsed.members.find((m: { id: string }) => m.id === old?.id)).toMatchObject({
      reachable: false,
    });
  });

  it("stops every node on Ctrl-C, exits 0 and leaves no process behind", async () => {
    dev.process.kill("SIGINT");
    const exit = await dev.exited;
    expect(dev.output().stderr).toContain("raftstore dev: the 2 running nodes stopped cleanly.");
    expect(exit.code).toBe(0);
    for (const node of dev.nodes) expect(isAlive(node.pid), node.id).toBe(false);
    expect(await readdir(join(cwd, ".raftstore-dev"))).not.toContain(DEV_LOCK_FILE);
  });
}, 60_000);
