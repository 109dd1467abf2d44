import type { NodeId } from "../log-types.js";
import type { Message } from "../messages.js";
import type { Transport, TransportHandler } from "../transport.js";

/**
 * An in-process network for nodes of one process: tests, examples, benchmarks. Messages are
 * delivered asynchronously (after the current macrotask), in order per sender and receiver,
 * without copying: receivers must treat messages as immutable, as the engine does. Links can be
 * cut to simulate partitions; a message to a node that is not connected is reported
 * unreachable.
 */
export class MemoryNetwork {
  private readonly handlers = new Map<NodeId, TransportHandler>();
  private readonly blocked = new Set<string>();
  private queue: Message[] = [];
  private scheduled = false;

  /** The transport of node `id`. Creating a new one for the same id replaces the old (a restart). */
  transport(id: NodeId): Transport {
    let handler: TransportHandler | undefined;
    return {
      start: (h) => {
        handler = h;
        this.handlers.set(id, h);
      },
      send: (message) => {
        if (handler === undefined || this.handlers.get(id) !== handler) return;
        this.queue.push(message);
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.flush());
        }
      },
      close: async () => {
        if (this.handlers.get(id) === handler) this.handlers.delete(id);
        handler = undefined;
      },
    };
  }

  /** Drops messages from `from` to `to` until healed. */
  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}\u0000${to}`);
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const other of others) {
      if (other === id) continue;
      this.cut(id, other);
      this.cut(other, id);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (const m of queue) {
      const target = this.handlers.get(m.to);
      if (this.blocked.has(`${m.from}\u0000${m.to}`)) continue;
      if (target === undefined) {
        this.handlers.get(m.from)?.onUnreachable(m.to);
        continue;
      }
      target.onMessage(m);
    }
  }
}

/** Creates an in-process network. */
export function createMemoryNetwork(): MemoryNetwork {
  return new MemoryNetwork();
}
