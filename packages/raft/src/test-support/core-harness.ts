import { createEntry } from "../checksum.js";
import { encodeConfig } from "../config-codec.js";
import type { UnsafeSwitches } from "../core/core-config.js";
import { RaftCore } from "../core/raft.js";
import type { Ready } from "../core/ready.js";
import { type Entry, EntryType, type HardState, type SnapshotMeta } from "../log-types.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import type { Message } from "../messages.js";

// Drives RaftCore instances by hand for the paper and interaction tests: messages are collected
// from Ready batches and delivered only when a test says so; persistence and apply complete at
// once (the core cannot tell).

export interface CoreOptions {
  readonly voters: readonly string[];
  /** The log after index 0; entries are given as terms (index i+1 has term terms[i]). */
  readonly terms?: readonly number[];
  readonly hardState?: HardState;
  readonly snapshot?: SnapshotMeta;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly random?: () => number;
  readonly unsafe?: UnsafeSwitches;
  readonly maxUncommittedBytes?: number;
  readonly maxInflightMessages?: number;
  readonly maxBytesPerAppend?: number;
  readonly logger?: Logger;
}

/** A log of entries with the given terms, starting at index 1 with a Config entry of `voters`. */
export function logWithTerms(voters: readonly string[], terms: readonly number[]): Entry[] {
  return terms.map((term, i) =>
    i === 0
      ? createEntry(1, term, EntryType.Config, encodeConfig({ voters, learners: [] }))
      : createEntry(i + 1, term, EntryType.Normal, new TextEncoder().encode(`e${i + 1}@${term}`)),
  );
}

export function newCore(id: string, options: CoreOptions): RaftCore {
  const terms = options.terms ?? [1];
  const snapshot = options.snapshot ?? {
    index: 0,
    term: 0,
    config: { voters: options.voters, learners: [] },
  };
  const entries = logWithTerms(options.voters, terms).filter((e) => e.index > snapshot.index);
  const maxTerm = Math.max(0, ...terms);
  return new RaftCore(
    {
      id,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      preVote: options.preVote ?? false,
      checkQuorum: options.checkQuorum ?? false,
      maxInflightMessages: options.maxInflightMessages ?? 256,
      maxInflightBytes: 1 << 30,
      maxBytesPerAppend: options.maxBytesPerAppend ?? 1 << 20,
      maxUncommittedBytes: options.maxUncommittedBytes ?? 1 << 30,
      maxApplyBytesPerReady: 1 << 30,
      random: options.random ?? (() => 0),
      logger: options.logger ?? silentLogger,
      unsafe: options.unsafe,
    },
    {
      hardState: options.hardState ?? { term: maxTerm, vote: "" },
      snapshot,
      compactedIndex: snapshot.index,
      entries,
    },
  );
}

/** Handles one Ready as a runtime whose disk and state machine are instantaneous. */
export function process(core: RaftCore): { ready: Ready; messages: Message[] } {
  const ready = core.ready();
  const last = ready.entries[ready.entries.length - 1];
  if (last !== undefined) core.persisted(last.index, last.term);
  const applied = ready.committedEntries[ready.committedEntries.length - 1];
  if (applied !== undefined) core.applied(applied.index);
  return { ready, messages: [...ready.messages, ...ready.messagesAfterPersist] };
}

/** All messages a core has to send, after handling every pending Ready. */
export function takeMessages(core: RaftCore): Message[] {
  const out: Message[] = [];
  while (core.hasReady()) out.push(...process(core).messages);
  return out;
}

/** A set of cores wired together, with per-link drops. */
export class CoreNetwork {
  readonly cores = new Map<string, RaftCore>();
  private readonly blocked = new Set<string>();
  /** Messages delivered so far, in order (for assertions). */
  readonly delivered: Message[] = [];
  /** Read states and failed read contexts each core produced, in order. */
  readonly readStates = new Map<string, { context: number; index: number }[]>();
  readonly failedReads = new Map<string, number[]>();

  constructor(cores: readonly RaftCore[]) {
    for (const core of cores) this.cores.set(core.id, core);
  }

  core(id: string): RaftCore {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`no core ${id}`);
    return core;
  }

  /** Cuts both directions between `id` and every other node. */
  isolate(id: string): void {
    for (const other of this.cores.keys()) {
      if (other !== id) {
        this.blocked.add(`${id}->${other}`);
        this.blocked.add(`${other}->${id}`);
      }
    }
  }

  cut(from: string, to: string): void {
    this.blocked.add(`${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Delivers messages until no core has anything more to say. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const pending: Message[] = [];
      for (const core of this.cores.values()) pending.push(...this.collect(core));
      if (pending.length === 0) return;
      for (const m of pending) this.deliver(m);
    }
    throw new Error("network did not stabilize");
  }

  /** Handles every pending Ready of `core`, recording its reads; returns its messages. */
  collect(core: RaftCore): Message[] {
    const out: Message[] = [];
    while (core.hasReady()) {
      const { ready, messages } = process(core);
      out.push(...messages);
      if (ready.readStates.length > 0) {
        this.readStates.set(core.id, [
          ...(this.readStates.get(core.id) ?? []),
          ...ready.readStates,
        ]);
      }
      if (ready.failedReads.length > 0) {
        this.failedReads.set(core.id, [
          ...(this.failedReads.get(core.id) ?? []),
          ...ready.failedReads,
        ]);
      }
    }
    return out;
  }

  deliver(m: Message): void {
    if (this.blocked.has(`${m.from}->${m.to}`)) return;
    const target = this.cores.get(m.to);
    if (target === undefined) return;
    this.delivered.push(m);
    target.step(m);
  }

  /** Ticks every core `n` times, stabilizing after each tick. */
  tick(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const core of this.cores.values()) core.tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and lets the election play out. */
  elect(id: string): void {
    this.core(id).campaign();
    this.stabilize();
  }

  /** The single leader among the cores, if exactly one claims leadership in the highest term. */
  leader(): RaftCore | undefined {
    const leaders = [...this.cores.values()].filter((c) => c.state === "leader");
    const top = Math.max(...leaders.map((c) => c.term));
    const inTop = leaders.filter((c) => c.term === top);
    return inTop.length === 1 ? inTop[0] : undefined;
  }
}

/** Terms of a core's retained log, from its first index. */
export function termsOf(core: RaftCore): number[] {
  const out: number[] = [];
  for (let i = core.log.firstIndex(); i <= core.log.lastIndex(); i++)
    out.push(core.log.term(i) ?? -1);
  return out;
}

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Proposes one Normal entry with the given text. */
export function proposeText(core: RaftCore, text: string) {
  return core.propose([{ type: EntryType.Normal, data: encode(text) }]);
}
