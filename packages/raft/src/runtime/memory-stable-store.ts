import type { HardState } from "../log-types.js";
import type { StableStore } from "../stores.js";

/** A StableStore in memory, for tests and for nodes that need no durability. */
export class MemoryStableStore implements StableStore {
  private state: HardState = { term: 0, vote: "" };

  async load(): Promise<HardState> {
    return this.state;
  }

  async save(state: HardState): Promise<void> {
    this.state = { term: state.term, vote: state.vote };
  }

  async close(): Promise<void> {}
}
