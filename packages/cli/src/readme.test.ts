import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, loadConfig, type RaftstoreNode, startNode } from "@raftstore/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "./exit-codes.js";
import { type CliIo, runCli } from "./index.js";
import { freePort } from "./test-support/ports.js";
import { run } from "./test-support/run-cli.js";

// The README's ```sh examples run here, in order, against a live node; ```bash blocks are the
// ones that cannot (they start clusters, pipe into other tools, or run until Ctrl-C).

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

/** A line of a ```sh block: its arguments after `raftstore`, and the exit code it documents. */
interface Example {
  line: string;
  argv: string[];
  exitCode: number;
}

/** Splits a shell line into words (single and double quotes, a trailing `# comment`). */
function shellWords(line: string): { words: string[]; comment: string } {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "#" && word === undefined) {
      return { words, comment: line.slice(i + 1).trim() };
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, comment: "" };
}

function examples(): Example[] {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks.flatMap((block) =>
    block
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const { words, comment } = shellWords(line);
        if (words[0] !== "raftstore" || /[|>&$;`]/.test(words.join(" "))) {
          throw new Error(`a \`\`\`sh example must be one raftstore command, got: ${line}`);
        }
        const exits = /^exits (\d+)/.exec(comment);
        return { line, argv: words.slice(1), exitCode: exits ? Number(exits[1]) : 0 };
      }),
  );
}

let dir: string;
let node: RaftstoreNode;
let endpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "raftstore-cli-readme-"));
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  node = await startNode(
    loadConfig({
      flags: {
        id: "n1",
        dataDir: join(dir, "n1"),
        listen: `127.0.0.1:${port}`,
        initialCluster: `n1=127.0.0.1:${port}`,
      },
    }),
    { logger: createLogger("silent") },
  );
  while (!(await fetch(`${endpoint}/readyz`)).ok) await new Promise((r) => setTimeout(r, 20));
}, 30_000);

afterAll(async () => {
  await node?.close({ graceMs: 0 });
  await rm(dir, { recursive: true, force: true });
});

describe("the README", () => {
  it("has shell examples that all run as documented, in order", async () => {
    const all = examples();
    expect(all.length).toBeGreaterThan(10);
    for (const example of all) {
      const result = await run(example.argv, { cwd: dir, env: { RAFTSTORE_ENDPOINT: endpoint } });
      expect({ line: example.line, code: result.code, stderr: result.stderr }).toMatchObject({
        code: example.exitCode,
        ...(example.exitCode === 0 ? { stderr: "" } : {}),
      });
    }
  });

  it("runs the CLI from code as it shows", async () => {
    const out: string[] = [];
    const io: CliIo = {
      stdout: new Writable({
        write(chunk, _encoding, done) {
          out.push(String(chunk));
          done();
        },
      }),
      stderr: process.stderr,
      stdin: process.stdin,
      env: { RAFTSTORE_ENDPOINT: endpoint },
      cwd: process.cwd(),
      selfCommand: "raftstore",
      onStop: () => () => {},
      exitNow: (code) => process.exit(code),
    };
    const code = await runCli(["read", "demo.v1.Artist", "web"], io);
    const artist = code === ExitCode.Ok ? JSON.parse(out.join("")) : undefined;
    expect(artist?.id?.name).toBe("web");
  });

  it("lists the exit codes the CLI uses", () => {
    for (const [name, code] of Object.entries(ExitCode)) {
      expect(readme, name).toMatch(new RegExp(`^\\| ${code} +\\|`, "m"));
    }
  });
});
