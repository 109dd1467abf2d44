import type { FileHandle } from "../file-system.js";
import { fsError } from "./sim-errors.js";
import type { SimFileSystem } from "./sim-file-system.js";
import { applyChange, type FileNode } from "./sim-nodes.js";

/** An open file of the simulated disk: every call goes through the disk's call counter. */
export class SimFileHandle implements FileHandle {
  readonly #fs: SimFileSystem;
  readonly #node: FileNode;
  readonly #path: string;
  readonly #writable: boolean;
  #closed = false;

  constructor(fs: SimFileSystem, node: FileNode, path: string, writable: boolean) {
    this.#fs = fs;
    this.#node = node;
    this.#path = path;
    this.#writable = writable;
  }

  read(buffer: Uint8Array, position: number): Promise<number> {
    return this.#fs.call("read", this.#path, () => {
      this.#check(false);
      const node = this.#node;
      const n = Math.max(0, Math.min(buffer.length, node.size - position));
      buffer.set(node.data.subarray(position, position + n));
      return n;
    });
  }

  write(data: Uint8Array, position: number): Promise<void> {
    return this.#fs.call("write", this.#path, () => {
      this.#check(true);
      applyChange(this.#node, { kind: "write", position, data: data.slice() });
    });
  }

  truncate(size: number): Promise<void> {
    return this.#fs.call("truncate", this.#path, () => {
      this.#check(true);
      applyChange(this.#node, { kind: "truncate", size });
    });
  }

  datasync(): Promise<void> {
    return this.#fs.call("datasync", this.#path, () => {
      this.#check(false);
      const node = this.#node;
      node.durable = node.data.slice(0, node.size);
      node.pending = [];
    });
  }

  size(): Promise<number> {
    return this.#fs.call("size", this.#path, () => {
      this.#check(false);
      return this.#node.size;
    });
  }

  close(): Promise<void> {
    return this.#fs.call("close", this.#path, () => {
      this.#check(false);
      this.#closed = true;
    });
  }

  #check(write: boolean): void {
    if (this.#closed || (write && !this.#writable)) throw fsError("EBADF", "write", this.#path);
  }
}
