#!/usr/bin/env node
// Keeps package READMEs honest: every ```ts example in packages/*/README.md must appear, line for
// line (indentation aside), in one of that package's test files, where it runs as a test.
// Import lines are left out of the comparison: a test imports at the top of its file.
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

function containsRun(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
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
