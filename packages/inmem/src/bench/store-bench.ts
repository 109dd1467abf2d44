import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type ID, IDSchema, type Resource, ResourceSchema } from "@raftstore/proto";
import { Store } from "../store.js";
import { artist, artistV1, smallResource, tenancy } from "../test-support/resources.js";
import {
  collectGarbage,
  cpuClock,
  GcPauses,
  lcg,
  median,
  memoryInUse,
  round,
  type Span,
  timedSpan,
} from "./timing.js";

/** The keys a hot-set workload touches, whatever the store size: it fits in the CPU caches. */
const HOT_KEYS = 10_000;
const LIST_TARGET = 100;

export interface StoreFigures {
  resources: number;
  /** CAS updates of uniformly random keys, each input a fresh object (as a Raft apply gets). */
  casWritesPerSecond: number;
  /** The same, on 10k hot keys: the algorithmic cost without the cache misses of a large heap. */
  casWritesPerSecondHotSet: number;
  /**
   * The share of the random-key writes' wall time that the main thread spent paused for garbage
   * collection (concurrent marking on other threads is in the CPU time, not here).
   */
  casWritesGcPauseShare: number;
  /** Eventual point reads of uniformly random keys. */
  pointReadsPerSecond: number;
  pointReadsPerSecondHotSet: number;
  /** Reads through an MVCC view (its B+ tree, not the store's hash index). */
  viewReadsPerSecond: number;
  /** List of the 100 resources of one namespace among all the others. */
  listsOf100PerSecond: number;
  snapshotResourcesPerSecond: number;
  /** Memory per resource stored: the V8 heap and the array buffers outside it. */
  heapBytesPerResource: number;
}

/**
 * Resource `i` as a Raft apply receives it: decoded from its protobuf encoding, so its strings are
 * flat (template-literal fixtures would be rope strings, twice the size) and all of it is new.
 */
function decoded(i: number, namespace?: string, version = ""): Resource {
  const resource = smallResource(i, namespace);
  resource.version = version;
  return fromBinary(ResourceSchema, toBinary(ResourceSchema, resource));
}

function nameOf(i: number): string {
  return `artist-${String(i).padStart(7, "0")}`;
}

/** The id a read of resource `i` asks for (decoded too, as a request would be). */
function probe(i: number): ID {
  const id = create(IDSchema, {
    uid: "",
    name: nameOf(i),
    type: artistV1,
    tenancy: { partition: "default", namespace: "default" },
  });
  return fromBinary(IDSchema, toBinary(IDSchema, id));
}

/**
 * Runs `count` operations in chunks and returns the median rate, in operations per second of CPU
 * time. `prepare` runs before each chunk, off the clock. A full garbage collection first, so that
 * the phase does not pay for the garbage of the one before. The wall-time span of each timed
 * chunk is added to `spans`.
 */
function rate(
  count: number,
  chunk: number,
  run: (from: number, to: number) => void,
  prepare?: (from: number, to: number) => void,
  spans: Span[] = [],
): number {
  collectGarbage();
  const rates: number[] = [];
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    prepare?.(from, to);
    const seconds = cpuClock();
    timedSpan(spans, () => run(from, to));
    rates.push((to - from) / seconds());
  }
  return median(rates);
}

/** Measures one store of `size` small resources. */
export async function benchStore(size: number, log: (line: string) => void): Promise<StoreFigures> {
  const gc = new GcPauses();
  const random = lcg(size);
  const versions = new Float64Array(size);
  const before = memoryInUse();
  const store = new Store();
  let version = 0;

  for (let i = 0; i < size; i++) {
    store.writeCAS(decoded(i), String(++version));
    versions[i] = version;
  }
  for (let k = 0; k < LIST_TARGET; k++) {
    store.writeCAS(decoded(size + k, "list-target"), String(++version));
  }
  const heapBytesPerResource = (memoryInUse() - before) / store.size;
  log(`  ${size}: built, ${round(heapBytesPerResource)} B of heap and array buffers per resource`);

  // Each chunk of inputs is built just before it is written, off the clock: building inputs is
  // not what is measured, and like the entries a Raft apply decodes, they die young. The version
  // each input expects is known in advance, because versions are handed out in order.
  const writes = (keySpace: number, spans?: Span[]) => {
    let inputs: Resource[] = [];
    return rate(
      200_000,
      5_000,
      (from, to) => {
        for (let j = from; j < to; j++) {
          store.writeCAS(inputs[j - from] as Resource, String(++version));
        }
      },
      (from, to) => {
        inputs = [];
        for (let j = from, next = version; j < to; j++) {
          const i = random(keySpace);
          inputs.push(decoded(i, undefined, String(versions[i])));
          versions[i] = ++next;
        }
      },
      spans,
    );
  };
  const writeSpans: Span[] = [];
  const casWritesPerSecond = writes(size, writeSpans);
  const casWritesGcPauseShare = await gc.shareOf(writeSpans);
  gc.close();
  const casWritesPerSecondHotSet = writes(Math.min(size, HOT_KEYS));
  log(
    `  ${size}: writes ${round(casWritesPerSecond)}/s (GC pauses ${round(casWritesGcPauseShare * 100)} %), hot ${round(casWritesPerSecondHotSet)}/s`,
  );

  // Like a write's input, each read's id is decoded just before its chunk, off the clock, and
  // names a fresh uniformly random key. (Until 2026-11-28 the reads cycled five times through
  // 200,000 ids built up front: a fifth of the keys, read again while still partly in the 32 MB
  // L3 cache, which flattered the uniformly random figure by up to half.)
  const read = (target: { read(id: ID): Resource }, keySpace: number, count: number) => {
    let ids: ID[] = [];
    return rate(
      count,
      5_000,
      (from, to) => {
        for (let j = from; j < to; j++) target.read(ids[j - from] as ID);
      },
      (from, to) => {
        ids = [];
        for (let j = from; j < to; j++) ids.push(probe(random(keySpace)));
      },
    );
  };
  const pointReadsPerSecond = read(store, size, 1_000_000);
  const pointReadsPerSecondHotSet = read(store, Math.min(size, HOT_KEYS), 1_000_000);
  const viewReadsPerSecond = read(store.view(), size, 250_000);
  log(
    `  ${size}: reads ${round(pointReadsPerSecond)}/s, hot ${round(pointReadsPerSecondHotSet)}/s`,
  );

  const target = tenancy("default", "list-target");
  const listsOf100PerSecond = rate(20_000, 5_000, (from, to) => {
    for (let j = from; j < to; j++) {
      if (store.list(artist, target, "").length !== LIST_TARGET) throw new Error("wrong list");
    }
  });

  // Several passes (each over a new snapshot) until a million resources were read.
  const passes = Math.max(1, Math.ceil(1_000_000 / store.size));
  const snapshotResourcesPerSecond =
    rate(passes, 1, () => {
      let iterated = 0;
      for (const record of store.snapshot()) if (record.version !== "") iterated++;
      if (iterated !== store.size) throw new Error(`snapshot gave ${iterated} of ${store.size}`);
    }) * store.size;

  return {
    resources: size,
    casWritesPerSecond: round(casWritesPerSecond),
    casWritesPerSecondHotSet: round(casWritesPerSecondHotSet),
    casWritesGcPauseShare: round(casWritesGcPauseShare, 2),
    pointReadsPerSecond: round(pointReadsPerSecond),
    pointReadsPerSecondHotSet: round(pointReadsPerSecondHotSet),
    viewReadsPerSecond: round(viewReadsPerSecond),
    listsOf100PerSecond: round(listsOf100PerSecond),
    snapshotResourcesPerSecond: round(snapshotResourcesPerSecond),
    heapBytesPerResource: round(heapBytesPerResource),
  };
}
