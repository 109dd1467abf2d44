#!/usr/bin/env node
// `npm start`: a local 3-node cluster, `raftstore dev`, once `prestart` (tools/bootstrap.mjs
// --build) has installed and built every package. Arguments go to `raftstore dev`:
// `npm start -- --nodes 5 --base-port 8001`.
//
// The CLI runs in this process (the same as `node packages/cli/dist/bin.js dev …`) rather than
// in a child: Ctrl-C then reaches exactly one raftstore process, whose exit code npm reports.
import { chmodSync, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "packages", "cli", "dist", "bin.js");

if (!existsSync(bin)) {
  console.error(
    [
      "raftstore: the CLI is not built: packages/cli/dist/bin.js is missing.",
      "Build every package with `npm run build` (or just the CLI and what it needs with",
      "`npx --no-install nx build @raftstore/cli`), then run `npm start` again.",
    ].join("\n"),
  );
  process.exit(1);
}

// `npm ci` links node_modules/.bin/raftstore before the build creates its target, which tsc
// then writes without the executable bit: set it, so that the `npx raftstore …` lines dev
// prints work.
if ((statSync(bin).mode & 0o111) === 0) chmodSync(bin, 0o755);

process.argv = [process.argv[0], bin, "dev", ...process.argv.slice(2)];
await import(pathToFileURL(bin).href);
