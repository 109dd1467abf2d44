import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Resource, ResourceSchema, type WatchEvent } from "@raftstore/proto";
import { Store } from "../store.js";
import type { StoreWatch } from "../store-watch.js";
import { album, artist, smallResource, tenancy } from "../test-support/resources.js";
import { collectGarbage, cpuClock, percentile, round, yieldToEventLoop } from "./timing.js";

const WATCHERS = 1_000;
const BACKGROUND = 10_000;
const BATCH = 10;

export interface FanOutFigures {
  watchers: number;
  writes: number;
  /** Events handed to consumers per second of CPU time (writer and consumers share the thread). */
  eventsDeliveredPerSecond: number;
  /** From the commit of a write to its arrival in each consumer's `await watch.next()`. */
  deliveryLatencyMillis: { p50: number; p99: number; max: number };
  /**
   * CAS writes per second with no watches, with 1,000 watches on another type, and with 1,000
   * watches on the same type in other namespaces: watches the write does not concern cost it
   * (almost) nothing, because subscriptions are indexed by type and tenancy.
   */
  casWritesPerSecond: {
    noWatches: number;
    watchesOnOtherType: number;
    watchesOnOtherTenancy: number;
  };
}

function decoded(i: number, namespace: string, version: string): Resource {
  const resource = smallResource(i, namespace);
  resource.version = version;
  return fromBinary(ResourceSchema, toBinary(ResourceSchema, resource));
}

/**
 * A store with background resources and a `fan-out` namespace of its own for the workload.
 * `prepare` builds the inputs of writes to resources `keys` (off the clock), each expecting the
 * version the writes before it leave; `apply` writes them, in order.
 */
function newStore() {
  const store = new Store();
  let version = 0;
  for (let i = 0; i < BACKGROUND; i++) store.writeCAS(decoded(i, "default", ""), String(++version));
  const stored = new Map<number, string>();
  return {
    store,
    prepare(keys: number[]): Resource[] {
      let next = version;
      return keys.map((i) => {
        const input = decoded(i, "fan-out", stored.get(i) ?? "");
        stored.set(i, String(++next));
        return input;
      });
    },
    apply(inputs: Resource[]): void {
      for (const input of inputs) store.writeCAS(input, String(++version));
    },
  };
}

/** Write throughput with `watches` open (each consumed, so none falls behind). */
async function writeRate(open: (store: Store) => StoreWatch[]): Promise<number> {
  const { store, prepare, apply } = newStore();
  const watches = open(store);
  for (const watch of watches) void drain(watch);
  collectGarbage();
  let cpu = 0;
  const writes = 100_000;
  for (let done = 0; done < writes; done += 1_000) {
    const inputs = prepare(Array.from({ length: 1_000 }, (_, k) => (done + k) % 5_000));
    const seconds = cpuClock();
    apply(inputs);
    cpu += seconds();
    await yieldToEventLoop();
  }
  for (const watch of watches) watch.close();
  return writes / cpu;
}

async function drain(watch: StoreWatch): Promise<void> {
  try {
    for (;;) await watch.next();
  } catch {
    // Closed by the benchmark.
  }
}

/** Delivery to 1,000 watchers of every write to the namespace they watch. */
export async function benchFanOut(log: (line: string) => void): Promise<FanOutFigures> {
  const noWatches = await writeRate(() => []);
  const watchesOnOtherType = await writeRate((store) =>
    Array.from({ length: WATCHERS }, () =>
      store.watchList({ group: album.group, kind: album.kind }, tenancy("default", "fan-out"), ""),
    ),
  );
  const watchesOnOtherTenancy = await writeRate((store) =>
    Array.from({ length: WATCHERS }, (_, w) =>
      store.watchList(artist, tenancy("default", `other-${w}`), ""),
    ),
  );
  log(
    `  writes/s: ${round(noWatches)} alone, ${round(watchesOnOtherType)} with other-type watches`,
  );

  const { store, prepare, apply } = newStore();
  const writes = 2_000;
  const committedAt = new Float64Array(writes);
  const latencies = new Float64Array(writes * WATCHERS);
  let delivered = 0;
  const versionBase = store.eventIndex + 1;
  const consume = async (watch: StoreWatch) => {
    let event: WatchEvent = await watch.next();
    while (event.event.case !== "endOfSnapshot") event = await watch.next();
    for (let k = 0; k < writes; k++) {
      event = await watch.next();
      const arrived = performance.now();
      const resource = event.event.case === "upsert" ? event.event.value.resource : undefined;
      const index = Number(resource?.version) - versionBase;
      latencies[delivered++] = arrived - (committedAt[index] as number);
    }
  };
  const consumers = Array.from({ length: WATCHERS }, () =>
    consume(store.watchList(artist, tenancy("default", "fan-out"), "")),
  );
  await yieldToEventLoop();
  collectGarbage();
  const seconds = cpuClock();
  const inputs = prepare(Array.from({ length: writes }, (_, k) => k % 500));
  for (let done = 0; done < writes; done += BATCH) {
    for (let k = done; k < done + BATCH; k++) {
      apply([inputs[k] as Resource]);
      committedAt[k] = performance.now();
    }
    await yieldToEventLoop();
  }
  await Promise.all(consumers);
  const cpu = seconds();
  if (delivered !== writes * WATCHERS) throw new Error(`delivered ${delivered} events`);
  return {
    watchers: WATCHERS,
    writes,
    eventsDeliveredPerSecond: round(delivered / cpu),
    deliveryLatencyMillis: {
      p50: round(percentile(latencies, 50), 2),
      p99: round(percentile(latencies, 99), 2),
      max: round(percentile(latencies, 100), 2),
    },
    casWritesPerSecond: {
      noWatches: round(noWatches),
      watchesOnOtherType: round(watchesOnOtherType),
      watchesOnOtherTenancy: round(watchesOnOtherTenancy),
    },
  };
}
