import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// How this CLI starts itself again (`raftstore dev` runs each node as `raftstore agent` in a
// child process) and how it tells a user to run it. Built, it is `node dist/bin.js`; from source
// (tests, `tsx`), `node --conditions=@raftstore/source --import <tsx> src/bin.ts`.

/** The arguments after `node` that run this CLI's entry in a new process. */
export function selfSpawnArguments(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    // Resolved here, not by the child: the child may run in a directory that cannot see tsx.
    const tsx = createRequire(import.meta.url).resolve("tsx");
    return [
      "--conditions=@raftstore/source",
      "--import",
      pathToFileURL(tsx).href,
      join(dirname(here), "bin.ts"),
    ];
  }
  return [join(dirname(here), "bin.js")];
}

/**
 * Whether a bin link leads to an executable file. A fresh clone links the bin at `npm ci`,
 * before the build creates its target, which then lacks the executable bit.
 */
function isRunnable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // missing or not executable: suggest `node <entry>` instead
  }
}

/**
 * What a user types to run this CLI again, for the hints it prints: `raftstore` when it was
 * started under that name, `npx raftstore` when the workspace links the bin, otherwise
 * `node <path to the entry>`.
 */
export function displayCommand(entry: string | undefined, cwd: string): string {
  if (entry === undefined) return "raftstore";
  if (basename(entry) === "raftstore") return "raftstore";
  if (isRunnable(join(cwd, "node_modules", ".bin", "raftstore"))) return "npx raftstore";
  const path = relative(cwd, entry);
  const shown = path.startsWith("..") || isAbsolute(path) ? entry : path;
  return entry.endsWith(".ts")
    ? `node --conditions=@raftstore/source --import tsx ${shown}`
    : `node ${shown}`;
}
