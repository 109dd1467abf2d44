import fc from "fast-check";
import type { KvInput, KvOutput } from "../kv-model.js";
import type { KvOperation } from "./builders.js";

/** What happened to an operation, as its client will record it. */
export type Fate = "known" | "unknown-applied" | "unknown-lost";

/** One operation of a sequential execution, before times and outputs are worked out. */
export interface PlannedOperation {
  clientId: number;
  key: string;
  kind: "put" | "get" | "cas-hit" | "cas-miss" | "delete";
  /** How long before its linearization point the call started. */
  before: number;
  /** How long after its linearization point it returned. */
  after: number;
  fate: Fate;
}

export interface PlanOptions {
  keys?: number;
  minLength?: number;
  maxLength?: number;
  /** The widest interval on either side of a linearization point. */
  maxSpread?: number;
  /** Whether some operations have unknown outcomes. */
  unknowns?: boolean;
}

/** Plans of sequential executions: random operations on a few keys with random intervals. */
export function plannedOperations(options: PlanOptions = {}): fc.Arbitrary<PlannedOperation[]> {
  const { keys = 2, minLength = 0, maxLength = 30, maxSpread = 6, unknowns = true } = options;
  const planned: fc.Arbitrary<PlannedOperation> = fc.record({
    clientId: fc.integer({ min: 0, max: 4 }),
    key: fc.integer({ min: 0, max: keys - 1 }).map((k) => `k${k}`),
    kind: fc.constantFrom("put", "get", "cas-hit", "cas-miss", "delete"),
    before: fc.integer({ min: 0, max: maxSpread }),
    after: fc.integer({ min: 0, max: maxSpread }),
    fate: unknowns
      ? fc.oneof(
          { weight: 8, arbitrary: fc.constant<Fate>("known") },
          { weight: 1, arbitrary: fc.constant<Fate>("unknown-applied") },
          { weight: 1, arbitrary: fc.constant<Fate>("unknown-lost") },
        )
      : fc.constant<Fate>("known"),
  });
  return fc.array(planned, { minLength, maxLength });
}

/**
 * Runs a plan against a real sequential map and records what each client saw: operation i
 * takes effect at time 2i (unless its fate is "unknown-lost") inside [2i - before, 2i + after].
 * Every value written is unique ("v<i>"), so a read names the write it saw. The resulting
 * history is linearizable by construction: the linearization points are a witness.
 */
export function executeSequentially(plan: readonly PlannedOperation[]): KvOperation[] {
  const store = new Map<string, string>();
  return plan.map((planned, index) => {
    const point = 2 * index;
    const current = store.get(planned.key);
    const value = `v${index}`;
    let input: KvInput;
    let output: KvOutput;
    let apply: (() => void) | undefined;
    switch (planned.kind) {
      case "put":
        input = { op: "put", key: planned.key, value };
        output = { ok: true };
        apply = () => store.set(planned.key, value);
        break;
      case "get":
        input = { op: "get", key: planned.key };
        output = current === undefined ? { ok: true } : { ok: true, value: current };
        break;
      case "cas-hit":
        input = { op: "cas", key: planned.key, expected: current, value };
        output = { ok: true };
        apply = () => store.set(planned.key, value);
        break;
      case "cas-miss":
        input = {
          op: "cas",
          key: planned.key,
          expected: current === undefined ? "never-written" : undefined,
          value,
        };
        output = { ok: false };
        break;
      case "delete":
        input = { op: "delete", key: planned.key };
        output = { ok: true };
        apply = () => store.delete(planned.key);
        break;
    }
    if (planned.fate !== "unknown-lost") apply?.();
    const call = point - planned.before;
    return planned.fate === "known"
      ? { clientId: planned.clientId, input, output, call, return: point + planned.after }
      : { clientId: planned.clientId, input, call, return: Number.POSITIVE_INFINITY };
  });
}

/** Arbitrary tiny key-value histories, linearizable or not, with many equal timestamps. */
export function tinyHistories(maxLength = 7): fc.Arbitrary<KvOperation[]> {
  const value = fc.constantFrom("1", "2");
  const input: fc.Arbitrary<KvInput> = fc.oneof(
    fc.record({ op: fc.constant("put" as const), key: fc.constantFrom("a", "b"), value }),
    fc.record({ op: fc.constant("get" as const), key: fc.constantFrom("a", "b") }),
    fc.record({
      op: fc.constant("cas" as const),
      key: fc.constantFrom("a", "b"),
      expected: fc.option(value, { nil: undefined }),
      value,
    }),
    fc.record({ op: fc.constant("delete" as const), key: fc.constantFrom("a", "b") }),
  );
  const operation = fc
    .record({
      clientId: fc.integer({ min: 0, max: 2 }),
      input,
      call: fc.integer({ min: 0, max: 8 }),
      duration: fc.integer({ min: 0, max: 4 }),
      readValue: fc.option(value, { nil: undefined }),
      ok: fc.boolean(),
      outcome: fc.constantFrom("known", "known", "known", "unknown-never-returned", "unknown"),
    })
    .map(({ clientId, input, call, duration, readValue, ok, outcome }): KvOperation => {
      if (outcome === "unknown-never-returned") {
        return { clientId, input, call, return: Number.POSITIVE_INFINITY };
      }
      if (outcome === "unknown") return { clientId, input, call, return: call + duration };
      const output: KvOutput =
        input.op === "get"
          ? readValue === undefined
            ? { ok: true }
            : { ok: true, value: readValue }
          : { ok: input.op === "cas" ? ok : true };
      return { clientId, input, output, call, return: call + duration };
    });
  return fc.array(operation, { minLength: 1, maxLength });
}

/** A small seeded PRNG (mulberry32), so that generated workloads replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ClientWorkload {
  seed: number;
  clients: number;
  keys: number;
  operations: number;
  /** Latencies are 1…maxLatency time units. */
  maxLatency: number;
  /** The share of operations whose outcome the client never learns. */
  unknownRate: number;
}

/**
 * A realistic client workload: `clients` sequential clients, each waiting for its call to
 * return before the next, against a store that applies every call at a random instant inside
 * its interval. Outputs come from applying the calls in the order of those instants, so the
 * history is linearizable. A call with an unknown outcome was applied or lost (even odds) and
 * its client moved on when it timed out.
 */
export function simulateClients(workload: ClientWorkload): KvOperation[] {
  const random = seededRandom(workload.seed);
  const below = (n: number) => Math.floor(random() * n);
  const free = new Array<number>(workload.clients).fill(0);
  const calls: { operation: KvOperation; point: number; lost: boolean }[] = [];
  for (let index = 0; index < workload.operations; index++) {
    const clientId = index % workload.clients;
    const call = free[clientId] + below(3);
    const returned = call + 1 + below(workload.maxLatency);
    free[clientId] = returned + 1;
    const key = `k${below(workload.keys)}`;
    const roll = random();
    const input: KvInput =
      roll < 0.35
        ? { op: "put", key, value: `v${index}` }
        : roll < 0.8
          ? { op: "get", key }
          : roll < 0.95
            ? {
                op: "cas",
                key,
                expected: random() < 0.5 ? undefined : `v${below(index + 1)}`,
                value: `v${index}`,
              }
            : { op: "delete", key };
    const unknown = random() < workload.unknownRate;
    calls.push({
      operation: { clientId, input, call, return: unknown ? Number.POSITIVE_INFINITY : returned },
      point: call + below(returned - call + 1),
      lost: unknown && random() < 0.5,
    });
  }
  const store = new Map<string, string>();
  const byPoint = [...calls].sort((a, b) => a.point - b.point);
  for (const { operation, lost } of byPoint) {
    if (lost) continue;
    const { input } = operation;
    const current = store.get(input.key);
    let output: KvOutput = { ok: true };
    if (input.op === "put") store.set(input.key, input.value);
    else if (input.op === "delete") store.delete(input.key);
    else if (input.op === "get")
      output = current === undefined ? { ok: true } : { ok: true, value: current };
    else if (current === input.expected) store.set(input.key, input.value);
    else output = { ok: false };
    if (operation.return !== Number.POSITIVE_INFINITY) operation.output = output;
  }
  return calls.map((c) => c.operation);
}
