import { create } from "@bufbuild/protobuf";
import { AnySchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Condition_State, type Resource, ResourceSchema } from "@raftstore/proto";
import fc from "fast-check";
import { type DecodeSnapshotOptions, decodeSnapshot } from "../decode.js";

const TYPES = [
  { group: "demo", groupVersion: "v1", kind: "Artist" },
  { group: "demo", groupVersion: "v2", kind: "Artist" },
  { group: "demo", groupVersion: "v1", kind: "Album" },
  { group: "catalog", groupVersion: "v2beta1", kind: "Service" },
] as const;

/**
 * A deterministic, realistic resource of a few hundred bytes: an id, every third one an owner,
 * metadata, a status with a condition and data packed in an Any. `i` makes it distinct.
 */
export function sampleResource(i: number): Resource {
  const type = TYPES[i % TYPES.length] as (typeof TYPES)[number];
  const tenancy = { partition: "default", namespace: i % 5 === 0 ? "team-a" : "default" };
  const payload = new Uint8Array(96);
  for (let b = 0; b < payload.length; b++) payload[b] = (i * 31 + b * 7) & 0xff;
  return create(ResourceSchema, {
    id: {
      uid: `01HZX${String(i).padStart(21, "0")}`,
      name: `resource-${i}`,
      type,
      tenancy,
    },
    owner:
      i % 3 === 0
        ? {
            uid: `01HZY${String(i).padStart(21, "0")}`,
            name: `owner-${i}`,
            type: TYPES[0],
            tenancy,
          }
        : undefined,
    version: String(1000 + i),
    generation: `01HZG${String(i).padStart(21, "0")}`,
    metadata: { env: i % 2 === 0 ? "prod" : "dev", team: `team-${i % 7}` },
    status: {
      "consul.io/controller": {
        observedGeneration: `01HZG${String(i).padStart(21, "0")}`,
        conditions: [
          {
            type: "Accepted",
            state: Condition_State.TRUE,
            reason: "Ok",
            message: "all good",
          },
        ],
        updatedAt: timestampFromMs(1_700_000_000_000 + i),
      },
    },
    data: create(AnySchema, { typeUrl: `type.googleapis.com/${type.group}.Data`, value: payload }),
  });
}

/** `count` sample resources, made lazily: a source that costs no memory of its own. */
export function* sampleResources(count: number, first = 0): Generator<Resource> {
  for (let i = first; i < first + count; i++) yield sampleResource(i);
}

const text = fc.string({ maxLength: 12, unit: "grapheme" });
/**
 * Map keys: any text but "__proto__" (which fast-check favours), since no protobuf-es decode keeps
 * that key and storage refuses resources that have it (validateResource).
 */
const mapKey = text.filter((key) => key !== "__proto__");

/** Arbitrary resources, including empty ones, unicode text and binary data. */
export const arbitraryResource: fc.Arbitrary<Resource> = fc
  .record(
    {
      name: text,
      uid: text,
      group: text,
      groupVersion: text,
      kind: text,
      partition: text,
      namespace: text,
      ownerName: fc.option(text, { nil: undefined }),
      version: text,
      generation: text,
      metadata: fc.dictionary(mapKey, text, { maxKeys: 3 }),
      conditionReason: fc.option(text, { nil: undefined }),
      data: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const type = { group: r.group, groupVersion: r.groupVersion, kind: r.kind };
    const tenancy = { partition: r.partition, namespace: r.namespace };
    return create(ResourceSchema, {
      id: r.name === undefined ? undefined : { uid: r.uid, name: r.name, type, tenancy },
      owner: r.ownerName === undefined ? undefined : { name: r.ownerName, type, tenancy },
      version: r.version,
      generation: r.generation,
      metadata: r.metadata,
      status:
        r.conditionReason === undefined
          ? {}
          : { c: { conditions: [{ reason: r.conditionReason, state: Condition_State.FALSE }] } },
      data: r.data === undefined ? undefined : create(AnySchema, { typeUrl: "t/x", value: r.data }),
    });
  });

/** Everything an async iterable yields. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The bytes of chunks, in one buffer. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

/**
 * `bytes` as an async stream of chunks that end at the given cut points (offsets, any order,
 * duplicates give empty chunks). Each chunk is a copy, as a real stream's would be.
 */
export async function* chunked(bytes: Uint8Array, cuts: readonly number[] = []) {
  const points = [...cuts.map((c) => Math.max(0, Math.min(bytes.byteLength, c)))].sort(
    (a, b) => a - b,
  );
  let from = 0;
  for (const to of [...points, bytes.byteLength]) {
    yield bytes.slice(from, to);
    from = to;
  }
}

/** `bytes` as a stream of chunks of `size` bytes. */
export function chunkedEvery(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  const cuts: number[] = [];
  for (let at = size; at < bytes.byteLength; at += size) cuts.push(at);
  return chunked(bytes, cuts);
}

/** How a decode of a whole input went: every resource it yielded, and how it ended. */
export interface DecodeOutcome {
  resources: Resource[];
  /** The iteration ended normally (the snapshot verified). */
  completed: boolean;
  /** What the iteration rejected with, if it did. */
  error: unknown;
}

/** Decodes `chunks` to the end, recording the outcome instead of throwing. */
export async function decodeOutcome(
  chunks: AsyncIterable<Uint8Array>,
  options?: DecodeSnapshotOptions,
): Promise<DecodeOutcome> {
  const resources: Resource[] = [];
  try {
    for await (const resource of decodeSnapshot(chunks, options)) resources.push(resource);
    return { resources, completed: true, error: undefined };
  } catch (error) {
    return { resources, completed: false, error };
  }
}
