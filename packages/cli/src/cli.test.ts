import * as server from "@raftstore/server";
import { describe, expect, it } from "vitest";
import { settingDescriptions } from "./commands/agent.js";
import { ExitCode } from "./exit-codes.js";
import { freePort } from "./test-support/ports.js";
import { run } from "./test-support/run-cli.js";

const leafCommands = [
  ["agent"],
  ["dev"],
  ["read"],
  ["write"],
  ["delete"],
  ["list"],
  ["watch"],
  ["write-status"],
  ["status"],
  ["members", "list"],
  ["snapshot", "save"],
  ["snapshot", "restore"],
  ["snapshot", "inspect"],
];

describe("help", () => {
  it.each(leafCommands)("explains `raftstore %s` with examples and exits 0", async (...path) => {
    const result = await run([...path, "--help"]);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain(`Usage: raftstore ${path.join(" ")}`);
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain("--debug"); // the global option is shown everywhere
  });

  it("lists every command, the exit codes and the environment at the top level", async () => {
    const result = await run(["--help"]);
    expect(result.code).toBe(ExitCode.Ok);
    for (const name of ["agent", "dev", "read", "write", "delete", "list", "watch", "status"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    }
    expect(result.stdout).toContain("Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found");
    expect(result.stdout).toContain("RAFTSTORE_ENDPOINT");
  });

  it("explains the command groups, members and snapshot", async () => {
    expect((await run(["members", "--help"])).stdout).toContain("list");
    const snapshot = await run(["snapshot", "--help"]);
    for (const name of ["save", "restore", "inspect"]) expect(snapshot.stdout).toContain(name);
  });

  it("documents every server setting as an agent flag, with its environment variable", async () => {
    const help = (await run(["agent", "--help"])).stdout.replace(/\s+/g, " ");
    const descriptions = settingDescriptions(server);
    for (const setting of server.settingNames) {
      expect(descriptions[setting.key], setting.key).toBeDefined();
      expect(help).toContain(setting.flag);
      expect(help).toContain(setting.env);
    }
  });

  it("prints the version", async () => {
    const result = await run(["--version"]);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("usage errors exit with 2 and say what was expected", () => {
  it.each([
    [["frobnicate"], /unknown command 'frobnicate'/],
    [[], /Usage: raftstore/],
    [["read", "demo.v1.Artist"], /missing required argument 'name'/],
    [
      ["read", "demo.Artist", "web"],
      /expected a type as group.groupVersion.kind \(e.g. demo.v1.Artist\), got "demo.Artist"/,
    ],
    [
      ["read", "demo.v1.Artist", "web", "--consistency", "linear"],
      /Allowed choices are strong, eventual/,
    ],
    [["read", "demo.v1.Artist", "web", "--bogus"], /unknown option '--bogus'/],
    [
      ["read", "demo.v1.Artist", "web", "--endpoint", "ftp://x"],
      /expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/,
    ],
    [
      ["read", "demo.v1.Artist", "web", "--timeout", "soon"],
      /--timeout: expected a duration such as 500ms, 10s or 2m, got "soon"/,
    ],
    [
      ["read", "demo.v1.Artist", "web", "--timeout", "2000m"],
      /--timeout: must be at most 27h46m \(99999999 ms, gRPC's longest deadline\), got "2000m"/,
    ],
    [
      ["write", "demo.v1.Artist"],
      /expected TYPE NAME \(e.g. demo.v1.Artist web\) and\/or a JSON document, got "demo.v1.Artist"/,
    ],
    [["write"], /name the resource: TYPE NAME arguments/],
    [
      ["write", "demo.v1.Artist", "web", "{}", "--file", "x.json"],
      /either as an argument or with --file, not both/,
    ],
    [
      ["write", "demo.v1.Artist", "web", "--metadata", "novalue"],
      /--metadata: expected key=value, got "novalue"/,
    ],
    [
      ["write", "demo.v1.Artist", "web", `{"id":{"name":"other"}}`],
      /the JSON says id.name "other" but the command line says "web"/,
    ],
    [
      ["write-status", "demo.v1.Artist", "web", "{}"],
      /required option '--key <controller>' not specified/,
    ],
    [["dev", "--nodes", "12"], /--nodes: expected 1 to 9 nodes, got 12/],
    [["dev", "--base-port", "http"], /--base-port: expected a whole number, got "http"/],
    [["agent", "--id", "N1"], /a node id is a lowercase DNS label/],
    [["status", "--tls-cert", "package.json"], /--tls-cert and --tls-key go together/],
  ])("raftstore %j", async (argv, message) => {
    const result = await run(argv as string[]);
    expect(result.stderr).toMatch(message as RegExp);
    expect(result.code).toBe(ExitCode.Usage);
  });

  it("lists every configuration problem of the agent at once, each with its source", async () => {
    const result = await run(["agent", "--listen", "nowhere", "--snapshot-jitter", "1"], {
      env: { RAFTSTORE_TICK_MS: "0" },
    });
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain(
      '--snapshot-jitter: expected a number from 0 to below 1, got "1"',
    );
    expect(result.stderr).toContain("--id (or RAFTSTORE_ID) is required");
    expect(result.stderr).toContain(
      '--listen: expected host:port (e.g. 127.0.0.1:7001), got "nowhere"',
    );
    expect(result.stderr).toContain('RAFTSTORE_TICK_MS: expected an integer ≥ 1, got "0"');
  });
});

describe("input errors exit with 6", () => {
  it("rejects JSON that does not parse, naming where it came from", async () => {
    const result = await run(["write", "demo.v1.Artist", "web", "--file", "-"], { stdin: "{nope" });
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toMatch(/^raftstore write: stdin is not valid JSON/);
  });

  it("rejects a resource with a misspelt field before anything is sent", async () => {
    const result = await run([
      "write",
      "demo.v1.Artist",
      "web",
      `{"metdata":{}}`,
      "--endpoint",
      "http://127.0.0.1:1",
    ]);
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toContain("does not describe a raftstore.resource.v1.Resource");
    expect(result.stderr).toContain("metdata");
  });

  it("says which file it cannot read", async () => {
    const result = await run(["write", "--file", "/nonexistent/artist.json"]);
    expect(result.code).toBe(ExitCode.InvalidArgument);
    expect(result.stderr).toContain("cannot read /nonexistent/artist.json");
    const restore = await run(["snapshot", "restore", "/nonexistent/backup.snap", "--yes"]);
    expect(restore.code).toBe(ExitCode.InvalidArgument);
    expect(restore.stderr).toContain("cannot read /nonexistent/backup.snap");
  });
});

describe("an unreachable endpoint", () => {
  it("exits with 5 and says how to start or find a cluster", async () => {
    const port = await freePort();
    const result = await run(["read", "demo.v1.Artist", "web", "--endpoint", `127.0.0.1:${port}`]);
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.stderr).toContain(`cannot reach http://127.0.0.1:${port}`);
    expect(result.stderr).toContain("`raftstore dev` starts a local cluster");
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it("takes the endpoint from RAFTSTORE_ENDPOINT, and prints a stack trace with --debug", async () => {
    const port = await freePort();
    const result = await run(["--debug", "status"], {
      env: { RAFTSTORE_ENDPOINT: `http://127.0.0.1:${port}` },
    });
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.stderr).toContain(`cannot reach http://127.0.0.1:${port}`);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
