import type { Resource } from "@raftstore/proto";
import {
  InvalidArgumentError,
  unversionedTypeString,
  type ValidID,
  validateResource,
} from "@raftstore/storage";
import { freezeRecord } from "./record.js";
import { Tables } from "./tables.js";

/**
 * Builds a replacement for the whole content of a store from a snapshot, then swaps it in at
 * once. Until `commit()`, the store keeps serving (and accepting writes to) its old content; the
 * swap discards everything written to the old content meanwhile, as a Raft snapshot install must.
 */
export interface Restoration {
  /** The number of resources applied so far. */
  readonly size: number;
  /**
   * Adds a resource exactly as given, version included: no compare-and-swap, no new version.
   * The store keeps a frozen copy; `resource` is not changed.
   *
   * Throws InvalidArgumentError for a malformed resource, an empty version (stored resources
   * always have one, and CAS relies on it), or a second resource under the same key (a snapshot
   * holds each key once; a repeat means it is corrupt). The restoration stays usable after such
   * an error: the resource is simply not added. Throws a plain Error after commit() or abort().
   */
  apply(resource: Resource): void;
  /**
   * Replaces the store's content with what was applied, atomically, and ends every watch of the
   * store with WatchClosedError (their consumers re-list). Throws a plain Error after abort() or
   * a second commit().
   */
  commit(): void;
  /** Discards what was applied. Always safe: also after commit() (then it does nothing). */
  abort(): void;
}

/** The store's Restoration: fills fresh tables, and hands them to the store on commit. */
export class StoreRestoration implements Restoration {
  #tables: Tables | undefined = new Tables();
  #state: "open" | "committed" | "aborted" = "open";
  readonly #install: (tables: Tables) => void;

  /** @private Built by `Store.restore()`, which receives the finished tables through `install`. */
  constructor(install: (tables: Tables) => void) {
    this.#install = install;
  }

  get size(): number {
    return this.#tables?.size ?? 0;
  }

  apply(resource: Resource): void {
    const tables = this.#open("apply");
    validateResource(resource);
    if (resource.version === "") {
      throw new InvalidArgumentError("resource.version", "must not be empty in a restore");
    }
    if (tables.slot(resource.id) !== undefined) {
      throw new InvalidArgumentError(
        "resource.id",
        `must be unique in a restore, but ${describeId(resource.id)} was applied twice`,
      );
    }
    tables.put(freezeRecord(resource, resource.version), undefined);
  }

  commit(): void {
    const tables = this.#open("commit");
    this.#state = "committed";
    this.#tables = undefined;
    this.#install(tables);
  }

  abort(): void {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    this.#tables = undefined;
  }

  #open(operation: string): Tables {
    if (this.#tables === undefined) {
      throw new Error(`Restoration.${operation}() called after the restoration was ${this.#state}`);
    }
    return this.#tables;
  }
}

function describeId(id: ValidID): string {
  const { partition, namespace } = id.tenancy;
  return `${unversionedTypeString(id.type)} ${JSON.stringify(`${partition}/${namespace}/${id.name}`)}`;
}
