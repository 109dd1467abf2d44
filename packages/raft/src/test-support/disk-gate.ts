import type { Entry, HardState } from "../log-types.js";
import type { LogContents, LogStore, StableStore } from "../stores.js";

/**
 * Stalls a node's disk on command: while stalled, every log and stable store call takes effect
 * but does not resolve until `resume` (a disk whose writes hang, hashicorp/raft#503). Calls
 * resolve in order.
 */
export class DiskGate {
  private stalled = false;
  private waiting: (() => void)[] = [];

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const release of waiting) release();
  }

  log(store: LogStore): LogStore {
    return {
      load: () => store.load() as Promise<LogContents>,
      append: (entries: readonly Entry[]) => this.gated(store.append(entries)),
      truncateAfter: (index: number) => this.gated(store.truncateAfter(index)),
      compact: (index: number) => this.gated(store.compact(index)),
      reset: (index: number) => this.gated(store.reset(index)),
      close: () => store.close(),
    };
  }

  stable(store: StableStore): StableStore {
    return {
      load: () => store.load() as Promise<HardState>,
      save: (state: HardState) => this.gated(store.save(state)),
      close: () => store.close(),
    };
  }

  private async gated(call: Promise<void>): Promise<void> {
    await call;
    if (this.stalled) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}
