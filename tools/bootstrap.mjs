#!/usr/bin/env node
// Makes `npm test` and `npm start` work as the first command typed in a fresh clone: installs
// the locked dependencies when node_modules is missing or older than package-lock.json, and
// with --build builds every package (cached by Nx, so a second run costs about a second).
// Uses only Node's standard library, because nothing else is installed yet when it runs.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const installed = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command, args) {
  execFileSync(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error("raftstore: installing dependencies (npm ci)…");
  run(npm, ["ci", "--no-audit", "--no-fund"]);
}

if (process.argv.includes("--build")) {
  console.error("raftstore: building packages (nx run-many -t build)…");
  run(npm, ["exec", "--no", "--", "nx", "run-many", "-t", "build", "--outputStyle=static"]);
  // npm ci links node_modules/.bin/raftstore before the build writes its target, and tsc writes
  // it without the executable bit: set it, so that `npx raftstore …` works.
  const bin = join(root, "packages", "cli", "dist", "bin.js");
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
