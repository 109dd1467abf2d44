import type { FileHandle, FileStat, FileSystem, OpenMode } from "../file-system.js";
import { type CrashPolicy, loseUnsynced } from "./crash-policy.js";
import { fsError } from "./sim-errors.js";
import { SimFileHandle } from "./sim-file-handle.js";
import {
  applyChange,
  applyEntryChange,
  components,
  type DirNode,
  type EntryChange,
  type Node,
  newDir,
  newFile,
  recoverFile,
  setEntry,
} from "./sim-nodes.js";

// A disk in memory that remembers what was synced. Every file keeps its synced contents and the
// list of changes made since; every directory keeps its synced entries and the list of entry
// changes made since. A crash (at a chosen call, or when told) freezes it: that call and every
// later one never settle, as in a process that died. `restart` then builds the disk the next
// boot sees, keeping of the unsynced changes what a CrashPolicy decides.
//
// Each call takes effect when it is made (or, with a `delay`, when the delay ends), so a run is
// deterministic: the same calls give the same disk.

/** One call the simulated file system received. */
export interface SimOperation {
  /** The call's number, from 0, in the order calls were made. */
  readonly seq: number;
  readonly kind:
    | "open"
    | "read"
    | "write"
    | "truncate"
    | "datasync"
    | "size"
    | "close"
    | "readdir"
    | "stat"
    | "mkdir"
    | "rename"
    | "link"
    | "unlink"
    | "syncDirectory";
  readonly path: string;
}

export interface SimFileSystemOptions {
  /**
   * Called for every call before it takes effect; when it returns a promise, the call waits for
   * it. A simulation returns a promise its virtual clock resolves, so that (for example) a sync
   * completes when the simulation says so. A crash while a call waits means it never happens.
   */
  readonly delay?: (operation: SimOperation) => Promise<void> | undefined;
  /**
   * Called for every call before it takes effect; an error returned fails the call, which then
   * has no effect (EIO from datasync, ENOSPC from write, …).
   */
  readonly inject?: (operation: SimOperation) => Error | undefined;
  /** Crash when call number `crashAt` is made: that call and every later one never settle. */
  readonly crashAt?: number;
  /** The sector size torn writes are rounded to. Default 512. */
  readonly sectorSize?: number;
}

const never = <T>() => new Promise<T>(() => {});

export class SimFileSystem implements FileSystem {
  readonly #options: SimFileSystemOptions;
  #root: DirNode;
  #calls = 0;
  #crashed = false;

  constructor(options: SimFileSystemOptions = {}) {
    this.#options = options;
    this.#root = newDir();
  }

  /** How many calls were made (the next call's number). */
  get calls(): number {
    return this.#calls;
  }

  get crashed(): boolean {
    return this.#crashed;
  }

  /** Crashes now: every call from here on (and every call still waiting) never settles. */
  crash(): void {
    this.#crashed = true;
  }

  /**
   * The disk as the next boot sees it, after a crash now (or at `crashAt`): synced contents and
   * entries, plus what `policy` keeps of the rest. This file system is left as it was (call
   * `crash` first to stop whatever still runs on it); `options` configure the new one.
   */
  restart(policy: CrashPolicy = loseUnsynced, options: SimFileSystemOptions = {}): SimFileSystem {
    const next = new SimFileSystem(options);
    const sector = this.#options.sectorSize ?? 512;
    const rebuilt = new Map<Node, Node>();
    const rebuild = (node: Node, path: string): Node => {
      const done = rebuilt.get(node);
      if (done !== undefined) return done;
      if (node.kind === "file") {
        const copy = recoverFile(node, path, policy, sector);
        rebuilt.set(node, copy);
        return copy;
      }
      const copy = newDir();
      rebuilt.set(node, copy);
      const entries = new Map(node.durable);
      const keep = policy.directory({ path: path || "/", pending: node.pending.length });
      for (const change of node.pending.slice(0, keep)) applyEntryChange(entries, change);
      for (const name of [...entries.keys()].sort()) {
        const child = rebuild(entries.get(name) as Node, `${path}/${name}`);
        copy.entries.set(name, child);
        copy.durable.set(name, child);
      }
      return copy;
    };
    next.#root = rebuild(this.#root, "") as DirNode;
    return next;
  }

  // --- inspection and damage, for tests (outside the call count) ---------------------------

  /** The current contents of a file (a copy), or undefined if there is none. */
  contents(path: string): Uint8Array | undefined {
    const node = this.#lookup(path);
    return node?.kind === "file" ? node.data.slice(0, node.size) : undefined;
  }

  /** The names in a directory, sorted (empty if there is none). */
  list(path: string): string[] {
    const node = this.#lookup(path);
    return node?.kind === "dir" ? [...node.entries.keys()].sort() : [];
  }

  /** Replaces a file's contents on disk, as damage would: synced, with nothing pending. */
  overwrite(path: string, contents: Uint8Array): void {
    const node = this.#lookup(path);
    if (node?.kind !== "file") throw fsError("ENOENT", "overwrite", path);
    node.data = contents.slice();
    node.size = contents.length;
    node.durable = contents.slice();
    node.pending = [];
  }

  /** Removes a name on disk, as damage would (synced). */
  forget(path: string): void {
    const { parent, name } = this.#parentOf(path);
    if (!parent.entries.delete(name)) throw fsError("ENOENT", "forget", path);
    parent.durable.delete(name);
  }

  /** Renames on disk, as damage (or an operator) would (synced). */
  move(from: string, to: string): void {
    const source = this.#parentOf(from);
    const target = this.#parentOf(to);
    const node = source.parent.entries.get(source.name);
    if (node === undefined) throw fsError("ENOENT", "move", from);
    source.parent.entries.delete(source.name);
    source.parent.durable.delete(source.name);
    target.parent.entries.set(target.name, node);
    target.parent.durable.set(target.name, node);
  }

  // --- FileSystem ----------------------------------------------------------------------------

  open(path: string, mode: OpenMode): Promise<FileHandle> {
    return this.#call("open", path, () => {
      const { parent, name } = this.#parentOf(path);
      let node = parent.entries.get(name);
      if (node?.kind === "dir") throw fsError("EISDIR", "open", path);
      if (node === undefined) {
        if (mode === "read" || mode === "readWrite") throw fsError("ENOENT", "open", path);
        node = newFile();
        setEntry(parent, name, node);
      } else if (mode === "createNew") {
        throw fsError("EEXIST", "open", path);
      } else if (mode === "create") {
        applyChange(node, { kind: "truncate", size: 0 });
      }
      return new SimFileHandle(this, node, path, mode !== "read");
    });
  }

  readdir(path: string): Promise<string[]> {
    return this.#call("readdir", path, () => {
      const node = this.#lookup(path);
      if (node === undefined) throw fsError("ENOENT", "scandir", path);
      if (node.kind !== "dir") throw fsError("ENOTDIR", "scandir", path);
      return [...node.entries.keys()].sort();
    });
  }

  stat(path: string): Promise<FileStat> {
    return this.#call("stat", path, () => {
      const node = this.#lookup(path);
      if (node === undefined) throw fsError("ENOENT", "stat", path);
      return node.kind === "dir"
        ? { size: 4096, isDirectory: true }
        : { size: node.size, isDirectory: false };
    });
  }

  mkdir(path: string): Promise<void> {
    return this.#call("mkdir", path, () => {
      let dir = this.#root;
      for (const name of components(path)) {
        const child = dir.entries.get(name);
        if (child?.kind === "file") throw fsError("ENOTDIR", "mkdir", path);
        if (child !== undefined) {
          dir = child;
          continue;
        }
        const created = newDir();
        setEntry(dir, name, created);
        dir = created;
      }
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#call("rename", from, () => {
      const source = this.#parentOf(from);
      const target = this.#parentOf(to);
      if (source.parent !== target.parent) throw fsError("EXDEV", "rename", from);
      const node = source.parent.entries.get(source.name);
      if (node === undefined) throw fsError("ENOENT", "rename", from);
      if (target.parent.entries.get(target.name)?.kind === "dir")
        throw fsError("EISDIR", "rename", to);
      if (source.name === target.name) return;
      const change: EntryChange = { kind: "rename", from: source.name, to: target.name };
      applyEntryChange(source.parent.entries, change);
      source.parent.pending.push(change);
    });
  }

  link(existing: string, newPath: string): Promise<void> {
    return this.#call("link", existing, () => {
      const source = this.#parentOf(existing);
      const target = this.#parentOf(newPath);
      if (source.parent !== target.parent) throw fsError("EXDEV", "link", existing);
      const node = source.parent.entries.get(source.name);
      if (node === undefined) throw fsError("ENOENT", "link", existing);
      if (node.kind === "dir") throw fsError("EPERM", "link", existing);
      if (target.parent.entries.has(target.name)) throw fsError("EEXIST", "link", newPath);
      setEntry(target.parent, target.name, node);
    });
  }

  unlink(path: string): Promise<void> {
    return this.#call("unlink", path, () => {
      const { parent, name } = this.#parentOf(path);
      const node = parent.entries.get(name);
      if (node === undefined) throw fsError("ENOENT", "unlink", path);
      if (node.kind === "dir") throw fsError("EISDIR", "unlink", path);
      const change: EntryChange = { kind: "delete", name };
      applyEntryChange(parent.entries, change);
      parent.pending.push(change);
    });
  }

  syncDirectory(path: string): Promise<void> {
    return this.#call("syncDirectory", path, () => {
      const node = this.#lookup(path);
      if (node === undefined) throw fsError("ENOENT", "open", path);
      if (node.kind !== "dir") throw fsError("ENOTDIR", "fsync", path);
      node.durable = new Map(node.entries);
      node.pending = [];
    });
  }

  /** @internal Runs one call: counted, maybe delayed, maybe failed, maybe never (a crash). */
  async call<T>(kind: SimOperation["kind"], path: string, effect: () => T): Promise<T> {
    return this.#call(kind, path, effect);
  }

  async #call<T>(kind: SimOperation["kind"], path: string, effect: () => T): Promise<T> {
    const seq = this.#calls++;
    if (this.#options.crashAt !== undefined && seq >= this.#options.crashAt) this.#crashed = true;
    if (this.#crashed) return never();
    const operation: SimOperation = { seq, kind, path };
    const wait = this.#options.delay?.(operation);
    if (wait !== undefined) {
      await wait;
      if (this.#crashed) return never();
    }
    const injected = this.#options.inject?.(operation);
    if (injected !== undefined) throw injected;
    return effect();
  }

  #lookup(path: string): Node | undefined {
    let node: Node = this.#root;
    for (const name of components(path)) {
      if (node.kind !== "dir") return undefined;
      const child: Node | undefined = node.entries.get(name);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  #parentOf(path: string): { parent: DirNode; name: string } {
    const parts = components(path);
    const name = parts.pop();
    if (name === undefined) throw fsError("EISDIR", "open", path);
    const parent = this.#lookup(`/${parts.join("/")}`);
    if (parent === undefined) throw fsError("ENOENT", "open", path);
    if (parent.kind !== "dir") throw fsError("ENOTDIR", "open", path);
    return { parent, name };
  }
}
