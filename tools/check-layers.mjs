#!/usr/bin/env node
// Checks the package layering of DESIGN.md: a package depends only on packages of a lower layer
// (its `layer:N` tag), never on the few pairs the design forbids outright, and every
// `@raftstore/*` import in its sources is declared in its package.json (or Nx's graph, and the
// build order that follows from it, would miss the edge).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const packagesDir = join(root, "packages");

// Boundaries that matter more than layer numbers (DESIGN.md, "Packages and layers").
const forbidden = {
  "@raftstore/raft": ["@raftstore/proto", "@raftstore/storage"], // replicates opaque bytes
  "@raftstore/raft-backend": ["@raftstore/raft"], // sees Raft only through its Handle
};

const packages = new Map();
for (const dir of readdirSync(packagesDir)) {
  const manifest = JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8"));
  const tag = (manifest.nx?.tags ?? []).find((t) => t.startsWith("layer:"));
  packages.set(manifest.name, { dir, manifest, layer: tag ? Number(tag.slice(6)) : undefined });
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const problems = [];
for (const [name, { dir, manifest, layer }] of packages) {
  if (layer === undefined) {
    problems.push(`${name}: no layer:N tag in package.json nx.tags`);
    continue;
  }
  const declared = new Set(
    Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((d) =>
      d.startsWith("@raftstore/"),
    ),
  );
  for (const dep of declared) {
    const target = packages.get(dep);
    if (target === undefined) problems.push(`${name}: depends on unknown package ${dep}`);
    else if (target.layer >= layer) {
      problems.push(`${name} (layer ${layer}) depends on ${dep} (layer ${target.layer})`);
    }
    if (forbidden[name]?.includes(dep)) problems.push(`${name} must not depend on ${dep}`);
  }
  for (const file of sourceFiles(join(packagesDir, dir, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/from\s+["'](@raftstore\/[a-z0-9-]+)/g)) {
      const dep = match[1];
      if (dep !== name && !declared.has(dep)) {
        problems.push(`${file.slice(root.length + 1)} imports ${dep}, not declared in ${name}`);
      }
    }
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`layering: ${p}`);
  process.exit(1);
}
console.log(`layering: ${packages.size} packages respect the layers of DESIGN.md`);
