import type { Entry, HardState, NodeId } from "../log-types.js";
import type { LogContents, LogStore, StableStore } from "../stores.js";
import type { StoreObserver } from "./sim-stores.js";

// Stores of another package, wrapped so that the invariant checker sees what the engine writes
// through them (what the simulation's own stores report themselves): every append with the term
// of the entry before it (log matching across nodes), every removal of entries (a leader must
// never remove any), and every hard state once durable, also across restarts (an acknowledged
// term or vote is never forgotten).

/** The hooks the wrappers call, and where a violation they detect goes (not to the engine). */
export interface StoreWatch {
  readonly observer: StoreObserver;
  violation(error: unknown): void;
}

function check(watch: StoreWatch, hook: (observer: StoreObserver) => void): void {
  try {
    hook(watch.observer);
  } catch (error) {
    watch.violation(error);
  }
}

/**
 * The observer's hooks with a violation they detect sent to `watch.violation`, for stores that
 * call the hooks themselves from inside the engine's calls (where a throw would only fail the
 * node, hiding which invariant broke).
 */
export function reportingObserver(watch: StoreWatch): StoreObserver {
  return {
    logAppended: (node, entries, prevTerm) =>
      check(watch, (o) => o.logAppended(node, entries, prevTerm)),
    logTruncated: (node, afterIndex) => check(watch, (o) => o.logTruncated(node, afterIndex)),
    hardStateDurable: (node, previous, next) =>
      check(watch, (o) => o.hardStateDurable(node, previous, next)),
  };
}

/**
 * Wraps a log store. Tracks the terms of the log as the engine sees it (from `load`, then every
 * call) to report the term before each append.
 */
export function observeLogStore(node: NodeId, store: LogStore, watch: StoreWatch): LogStore {
  let offset = 1;
  let terms: number[] = [];
  const termAt = (index: number) => (index >= offset ? terms[index - offset] : undefined);
  const cut = (index: number) => {
    terms.length = Math.max(0, Math.min(terms.length, index + 1 - offset));
  };
  return {
    async load(): Promise<LogContents> {
      const contents = await store.load();
      offset = contents.compactedIndex + 1;
      terms = contents.entries.map((e) => e.term);
      return contents;
    },
    append(entries: readonly Entry[]): Promise<void> {
      const first = entries[0];
      if (first !== undefined) {
        check(watch, (o) => o.logAppended(node, entries, termAt(first.index - 1)));
        cut(first.index - 1);
        for (const e of entries) terms.push(e.term);
      }
      return store.append(entries);
    },
    truncateAfter(index: number): Promise<void> {
      check(watch, (o) => o.logTruncated(node, index));
      cut(index);
      return store.truncateAfter(index);
    },
    compact(index: number): Promise<void> {
      const drop = Math.min(terms.length, index + 1 - offset);
      if (drop > 0) {
        terms = terms.slice(drop);
        offset += drop;
      }
      return store.compact(index);
    },
    reset(index: number): Promise<void> {
      check(watch, (o) => o.logTruncated(node, index));
      terms = [];
      offset = index + 1;
      return store.reset(index);
    },
    close: () => store.close(),
  };
}

/**
 * Wraps a stable store. `durable` carries the last acknowledged hard state from one incarnation
 * to the next: what a restarted node loads must not be older.
 */
export function observeStableStore(
  node: NodeId,
  store: StableStore,
  watch: StoreWatch,
  durable: { state: HardState },
): StableStore {
  return {
    async load(): Promise<HardState> {
      const loaded = await store.load();
      check(watch, (o) => o.hardStateDurable(node, durable.state, loaded));
      durable.state = loaded;
      return loaded;
    },
    async save(state: HardState): Promise<void> {
      const next = { term: state.term, vote: state.vote };
      await store.save(state);
      check(watch, (o) => o.hardStateDurable(node, durable.state, next));
      durable.state = next;
    },
    close: () => store.close(),
  };
}
