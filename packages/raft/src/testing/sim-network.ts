import type { NodeId } from "../log-types.js";
import type { Message } from "../messages.js";
import type { Transport, TransportHandler } from "../transport.js";
import type { Prng } from "./prng.js";
import type { Scheduler } from "./scheduler.js";
import type { SimProcess } from "./sim-process.js";

/** The network's fault knobs; the fault injector changes them over time. */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Probability that a message is held back for a long time (replayed late). */
  longDelay: number;
  /** Probability that a payload byte of a message is flipped in transit. */
  corrupt: number;
  minLatencyMs: number;
  maxLatencyMs: number;
}

/**
 * The simulated network: every message is copied (so no node shares memory with another),
 * then lost, duplicated, delayed, reordered or corrupted according to the current faults, and
 * dropped on cut links. Directed cuts model full, partial and asymmetric partitions.
 */
export class SimNetwork {
  readonly faults: NetworkFaults;
  private readonly blocked = new Set<string>();
  private readonly handlers = new Map<NodeId, { incarnation: number; handler: TransportHandler }>();
  private readonly scheduler: Scheduler;
  private readonly rng: Prng;
  private readonly processes: ReadonlyMap<NodeId, SimProcess>;
  private readonly onSend: (m: Message) => void;
  sent = 0;
  delivered = 0;
  /**
   * A scripted scenario's hand on the wire: sees every message that gets past the cuts, and
   * returns what to deliver instead (a changed copy), or undefined to lose it.
   */
  tamper: ((m: Message) => Message | undefined) | undefined;

  constructor(
    scheduler: Scheduler,
    rng: Prng,
    processes: ReadonlyMap<NodeId, SimProcess>,
    faults: NetworkFaults,
    onSend: (m: Message) => void,
  ) {
    this.scheduler = scheduler;
    this.rng = rng;
    this.processes = processes;
    this.faults = faults;
    this.onSend = onSend;
  }

  /** The transport of the current incarnation of `id`. */
  transport(id: NodeId): Transport {
    const process = this.processes.get(id) as SimProcess;
    const incarnation = process.incarnation;
    const current = () => process.alive && process.incarnation === incarnation;
    return {
      start: (handler) => {
        this.handlers.set(id, { incarnation, handler });
      },
      send: (m) => {
        if (current()) this.route(m);
      },
      close: async () => {
        if (this.handlers.get(id)?.incarnation === incarnation) this.handlers.delete(id);
      },
    };
  }

  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  private route(sent: Message): void {
    this.sent++;
    this.onSend(sent);
    if (this.blocked.has(`${sent.from}>${sent.to}`)) return;
    const m = this.tamper === undefined ? sent : this.tamper(structuredClone(sent));
    if (m === undefined) return;
    if (this.rng.chance(this.faults.loss)) return;
    const copies = this.rng.chance(this.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = this.rng.range(this.faults.minLatencyMs, this.faults.maxLatencyMs);
      if (this.rng.chance(this.faults.longDelay)) delay += this.rng.range(50, 600);
      const copy = this.copy(m);
      this.scheduler.after(delay, () => this.deliver(copy));
    }
  }

  private copy(m: Message): Message {
    const copy = structuredClone(m);
    if (this.faults.corrupt > 0 && this.rng.chance(this.faults.corrupt)) {
      const payload =
        copy.type === "append"
          ? copy.entries.find((e) => e.data.byteLength > 0)?.data
          : copy.type === "snapshotChunk"
            ? copy.data
            : undefined;
      if (payload !== undefined && payload.byteLength > 0) {
        const at = this.rng.int(0, payload.byteLength);
        payload[at] = (payload[at] as number) ^ (1 << this.rng.int(0, 8));
      }
    }
    return copy;
  }

  private deliver(m: Message): void {
    const process = this.processes.get(m.to);
    const target = this.handlers.get(m.to);
    if (
      process === undefined ||
      !process.alive ||
      target === undefined ||
      target.incarnation !== process.incarnation
    ) {
      // Nobody listens there (crashed): like a refused connection, the sender may hear of it.
      const sender = this.handlers.get(m.from);
      const senderProcess = this.processes.get(m.from);
      if (
        sender !== undefined &&
        senderProcess?.alive === true &&
        sender.incarnation === senderProcess.incarnation &&
        this.rng.chance(0.3)
      ) {
        senderProcess.after(1, () => sender.handler.onUnreachable(m.to));
      }
      return;
    }
    process.guard(() => {
      if (this.handlers.get(m.to) !== target) return;
      this.delivered++;
      target.handler.onMessage(m);
    })();
  }
}
