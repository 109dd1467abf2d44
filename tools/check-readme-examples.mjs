#!/usr/bin/env node
// Keeps package READMEs honest: every ```ts example in packages/*/README.md must appear, token for
// token, in one of that package's test files, where it runs as a test. The comparison ignores
// white space, line breaks and trailing commas (the formatter wraps a README block and the same
// code indented in a test differently), and import lines (a test imports at the top of its file).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const packagesDir = join(import.meta.dirname, "..", "packages");

const lines = (text) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

function* testFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* testFiles(path);
    else if (entry.name.endsWith(".test.ts")) yield path;
  }
}

/** The code without white space and trailing commas, so that formatting cannot matter. */
const tokens = (lineList) =>
  lineList
    .join("")
    .replace(/\s+/g, "")
    .replace(/,([}\])])/g, "$1");

function containsRun(haystack, needle) {
  return tokens(haystack).includes(tokens(needle));
}

const problems = [];
let examples = 0;
for (const pkg of readdirSync(packagesDir)) {
  const readme = join(packagesDir, pkg, "README.md");
  if (!existsSync(readme)) {
    problems.push(`packages/${pkg} has no README.md`);
    continue;
  }
  const blocks = [...readFileSync(readme, "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
    lines(m[1]).filter((l) => !l.startsWith("import ")),
  );
  const tests = [...testFiles(join(packagesDir, pkg, "src"))].map((f) =>
    lines(readFileSync(f, "utf8")),
  );
  for (const block of blocks) {
    examples++;
    if (!tests.some((t) => containsRun(t, block))) {
      problems.push(`packages/${pkg}/README.md: example starting "${block[0]}" is in no test file`);
    }
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(`readme: ${p}`);
  process.exit(1);
}
console.log(`readme: ${examples} examples, each run by a test`);
