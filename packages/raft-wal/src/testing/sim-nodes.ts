import { posix } from "node:path";
import type { CrashPolicy, PendingFileChange } from "./crash-policy.js";

// The simulated disk's contents: files and directories that remember what was synced, and the
// rules for applying a change and for what a crash keeps.

export type Change =
  | { readonly kind: "write"; readonly position: number; readonly data: Uint8Array }
  | { readonly kind: "truncate"; readonly size: number };

export interface FileNode {
  readonly kind: "file";
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  pending: Change[];
}

export type EntryChange =
  | { readonly kind: "set"; readonly name: string; readonly node: Node }
  | { readonly kind: "delete"; readonly name: string }
  | { readonly kind: "rename"; readonly from: string; readonly to: string };

export interface DirNode {
  readonly kind: "dir";
  entries: Map<string, Node>;
  durable: Map<string, Node>;
  pending: EntryChange[];
}

export type Node = FileNode | DirNode;

export function newFile(): FileNode {
  return {
    kind: "file",
    data: new Uint8Array(0),
    size: 0,
    durable: new Uint8Array(0),
    pending: [],
  };
}

export function newDir(): DirNode {
  return { kind: "dir", entries: new Map(), durable: new Map(), pending: [] };
}

export function components(path: string): string[] {
  return posix
    .resolve("/", path)
    .split("/")
    .filter((part) => part !== "");
}

export function setEntry(dir: DirNode, name: string, node: Node): void {
  const change: EntryChange = { kind: "set", name, node };
  applyEntryChange(dir.entries, change);
  dir.pending.push(change);
}

export function applyEntryChange(entries: Map<string, Node>, change: EntryChange): void {
  if (change.kind === "set") {
    entries.set(change.name, change.node);
  } else if (change.kind === "delete") {
    entries.delete(change.name);
  } else {
    const node = entries.get(change.from);
    if (node === undefined) return;
    entries.delete(change.from);
    entries.set(change.to, node);
  }
}

/** Applies a change to a file's current contents and records it as unsynced. */
export function applyChange(node: FileNode, change: Change): void {
  applyTo(node, change);
  node.pending.push(change);
}

function applyTo(target: { data: Uint8Array; size: number }, change: Change): void {
  const end = change.kind === "write" ? change.position + change.data.length : change.size;
  if (end > target.data.length) {
    const grown = new Uint8Array(Math.max(end, target.data.length * 2));
    grown.set(target.data.subarray(0, target.size));
    target.data = grown;
  }
  if (change.kind === "write") {
    if (change.data.length === 0) return;
    target.data.fill(0, target.size, Math.max(target.size, change.position));
    target.data.set(change.data, change.position);
    target.size = Math.max(target.size, end);
  } else {
    target.data.fill(0, Math.min(target.size, change.size), Math.max(target.size, change.size));
    target.size = change.size;
  }
}

/** A file as a crash leaves it: synced contents, then what the policy keeps of the rest. */
export function recoverFile(
  node: FileNode,
  path: string,
  policy: CrashPolicy,
  sector: number,
): FileNode {
  const pending: PendingFileChange[] = node.pending.map((change) =>
    change.kind === "write"
      ? {
          kind: "write",
          position: change.position,
          length: change.data.length,
          sectors:
            Math.floor((change.position + Math.max(change.data.length, 1) - 1) / sector) -
            Math.floor(change.position / sector) +
            1,
        }
      : { kind: "truncate", size: change.size },
  );
  const decision = policy.file({ path, pending });
  const result = { data: node.durable.slice(), size: node.durable.length };
  for (const change of node.pending.slice(0, decision.keep)) applyTo(result, change);
  const torn = node.pending[decision.keep];
  if (decision.scatter !== undefined && torn?.kind === "write") {
    // Whole sectors of the write, each where it belongs; the rest keep what was there.
    const base = Math.floor(torn.position / sector) * sector;
    for (const kept of decision.scatter) {
      const from = Math.max(torn.position, base + kept * sector);
      const to = Math.min(torn.position + torn.data.length, base + (kept + 1) * sector);
      if (from >= to) continue;
      const data = torn.data.subarray(from - torn.position, to - torn.position);
      applyTo(result, { kind: "write", position: from, data });
    }
  } else if (decision.tear !== undefined && torn?.kind === "write") {
    const bytes = Math.min(decision.tear.bytes, torn.data.length);
    applyTo(result, { kind: "write", position: torn.position, data: torn.data.subarray(0, bytes) });
    if (decision.tear.zeroFill) {
      const cut = torn.position + bytes;
      const fillEnd = Math.min(
        torn.position + torn.data.length,
        Math.ceil((cut + 1) / sector) * sector,
      );
      if (fillEnd > result.size) applyTo(result, { kind: "truncate", size: fillEnd });
    }
  }
  const data = result.data.slice(0, result.size);
  return { kind: "file", data, size: result.size, durable: data.slice(), pending: [] };
}
