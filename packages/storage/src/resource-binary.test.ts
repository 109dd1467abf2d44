import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  ConditionSchema,
  ListByOwnerResponseSchema,
  ReadResponseSchema,
  type Resource,
  ResourceSchema,
  WatchEventSchema,
  WatchListResponseSchema,
  WriteRequestSchema,
  WriteResponseSchema,
} from "@raftstore/proto";
import {
  DeleteRequestSchema,
  ListResponseSchema as ForwardedListResponseSchema,
  ReadRequestSchema as ForwardedReadRequestSchema,
  WriteRequestSchema as ForwardedWriteRequestSchema,
  LogSchema,
  LogType,
  ReadBatchRequestSchema,
  ReadBatchResponseSchema,
  WriteBatchRequestSchema,
  WriteBatchResponseSchema,
} from "@raftstore/proto/storage/v1";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePlain, resourceBinarySize, toBinaryFast, toBinaryKnown } from "./resource-binary.js";
import { unknownFields } from "./resource-binary-read.js";
import { resourceArbitraries } from "./test-support/resource-arbitraries.js";

// The hand-written encoder must write exactly protobuf-es's bytes for every message it takes,
// and hand every other message to protobuf-es. Generated messages cover every field, empty and
// set, map keys in both of JavaScript's key orders (integer-like keys come first), and the forms
// it leaves to protobuf-es (non-ASCII strings, unknown fields, negative or huge numbers).

const plain = resourceArbitraries(true);
const any = resourceArbitraries(false);

/** The schemas that carry one resource in field 1. */
const oneResource: DescMessage[] = [
  ReadResponseSchema,
  WriteRequestSchema,
  WriteResponseSchema,
  ForwardedWriteRequestSchema,
];

function expectSameBytes<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) {
  const fast = toBinaryFast(schema, message);
  expect(fast.constructor).toBe(Uint8Array);
  expect(Buffer.from(fast).toString("hex")).toBe(
    Buffer.from(toBinary(schema, message)).toString("hex"),
  );
}

describe("toBinaryFast", () => {
  it("writes into the array `allocate` gives, of the size it asks for; protobuf-es's bytes are its own", () => {
    fc.assert(
      fc.property(any.resource, (resource) => {
        const sizes: number[] = [];
        // A view into a dirty larger buffer, as pooled memory is.
        const pool = new Uint8Array(resourceBinarySize(resource) + 16).fill(0xee);
        const fast = toBinaryFast(ResourceSchema, resource, (size) => {
          sizes.push(size);
          return pool.subarray(8, 8 + size);
        });
        const expected = Buffer.from(toBinary(ResourceSchema, resource)).toString("hex");
        expect(Buffer.from(fast).toString("hex")).toBe(expected);
        if (encodePlain(ResourceSchema, resource) === undefined) {
          expect(sizes).toEqual([]);
          expect(fast.buffer).not.toBe(pool.buffer);
        } else {
          expect(sizes).toEqual([fast.byteLength]);
          expect(fast.buffer).toBe(pool.buffer);
          expect(fast.byteOffset).toBe(8);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses an `allocate` that returns another size than it asked for", () => {
    const resource = create(ResourceSchema, { version: "1" });
    expect(() =>
      toBinaryFast(ResourceSchema, resource, (size) => new Uint8Array(size + 1)),
    ).toThrow(/allocate\(\d+\) returned \d+ bytes/);
  });

  it("writes protobuf-es's bytes for every plain resource, by hand", () => {
    fc.assert(
      fc.property(plain.resource, (resource) => {
        const fast = encodePlain(ResourceSchema, resource);
        expect(fast).toBeDefined();
        expect(Buffer.from(fast as Uint8Array).toString("hex")).toBe(
          Buffer.from(toBinary(ResourceSchema, resource)).toString("hex"),
        );
        expect(resourceBinarySize(resource)).toBe((fast as Uint8Array).byteLength);
      }),
      { numRuns: 500 },
    );
  });

  it("writes protobuf-es's bytes for any resource, handing it the ones it does not write", () => {
    fc.assert(
      fc.property(any.resource, (resource) => {
        expectSameBytes(ResourceSchema, resource);
        expect(resourceBinarySize(resource)).toBe(toBinary(ResourceSchema, resource).byteLength);
      }),
      { numRuns: 500 },
    );
  });

  it("writes the messages that carry resources: reads, writes, lists and log entries", () => {
    fc.assert(
      fc.property(
        fc.option(plain.resource, { nil: undefined }),
        fc.array(plain.resource, { maxLength: 3 }),
        plain.id,
        fc.constantFrom(LogType.WRITE, LogType.DELETE, LogType.UNSPECIFIED),
        (resource, resources, id, logType) => {
          for (const schema of oneResource) {
            const message = create(schema, { resource } as never);
            expect(encodePlain(schema, message)).toBeDefined();
            expectSameBytes(schema, message);
          }
          for (const schema of [ListByOwnerResponseSchema, ForwardedListResponseSchema]) {
            const message = create(schema, { resources });
            expect(encodePlain(schema, message)).toBeDefined();
            expectSameBytes(schema, message);
          }
          const logs = [
            create(LogSchema, { type: logType }),
            create(LogSchema, { type: logType, request: { case: "write", value: { resource } } }),
            create(LogSchema, {
              type: logType,
              request: { case: "delete", value: create(DeleteRequestSchema, { id, version: "7" }) },
            }),
            create(LogSchema, {
              type: LogType.DELETE_INCARNATION,
              request: {
                case: "deleteIncarnation",
                value: create(DeleteRequestSchema, { id, incarnation: true }),
              },
            }),
          ];
          for (const log of logs) {
            expect(encodePlain(LogSchema, log)).toBeDefined();
            expectSameBytes(LogSchema, log);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("writes watch events and what WatchList streams: upserts, deletes, the end of the snapshot", () => {
    fc.assert(
      fc.property(fc.option(plain.resource, { nil: undefined }), (resource) => {
        const events = [
          create(WatchEventSchema, {}),
          create(WatchEventSchema, { event: { case: "upsert", value: { resource } } }),
          create(WatchEventSchema, { event: { case: "delete", value: { resource } } }),
          create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } }),
        ];
        for (const event of events) {
          expect(encodePlain(WatchEventSchema, event)).toBeDefined();
          expectSameBytes(WatchEventSchema, event);
          const response = create(WatchListResponseSchema, { event });
          expect(encodePlain(WatchListResponseSchema, response)).toBeDefined();
          expectSameBytes(WatchListResponseSchema, response);
        }
        const empty = create(WatchListResponseSchema, {});
        expect(encodePlain(WatchListResponseSchema, empty)).toBeDefined();
        expectSameBytes(WatchListResponseSchema, empty);
      }),
      { numRuns: 200 },
    );
    // Not plain: protobuf-es writes them, or refuses them, itself.
    const odd = [
      create(WatchEventSchema, {
        event: { case: "upsert", value: { resource: { id: { name: "é" } } } },
      }),
      { ...create(WatchEventSchema, {}), event: { case: "other", value: {} } },
    ];
    expect(encodePlain(WatchEventSchema, odd[0] as never)).toBeUndefined();
    expectSameBytes(WatchEventSchema, odd[0] as never);
    expect(encodePlain(WatchEventSchema, odd[1] as never)).toBeUndefined();
  });

  it("writes a follower's batch of writes and the leader's results, stored resources and errors", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(plain.resource, { nil: undefined }), { maxLength: 4 }),
        fc.array(plain.forwardedStatus, { maxLength: 3 }),
        (resources, statuses) => {
          const request = create(WriteBatchRequestSchema, {
            writes: resources.map((resource) => ({ resource })),
          });
          expect(encodePlain(WriteBatchRequestSchema, request)).toBeDefined();
          expectSameBytes(WriteBatchRequestSchema, request);
          const results = resources.map((resource) =>
            resource === undefined
              ? {}
              : { outcome: { case: "resource" as const, value: resource } },
          );
          const response = create(WriteBatchResponseSchema, { results });
          expect(encodePlain(WriteBatchResponseSchema, response)).toBeDefined();
          expectSameBytes(WriteBatchResponseSchema, response);

          const failed = create(WriteBatchResponseSchema, {
            results: [
              ...results,
              ...statuses.map((value) => ({ outcome: { case: "error" as const, value } })),
            ],
          });
          expect(encodePlain(WriteBatchResponseSchema, failed)).toBeDefined();
          expectSameBytes(WriteBatchResponseSchema, failed);

          // A message protobuf-es must write (not ASCII): the whole answer goes to it.
          const accented = create(WriteBatchResponseSchema, {
            results: [
              ...results,
              { outcome: { case: "error", value: { code: 10, message: "perdu à jamais" } } },
            ],
          });
          expect(encodePlain(WriteBatchResponseSchema, accented)).toBeUndefined();
          expectSameBytes(WriteBatchResponseSchema, accented);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("writes a follower's strong reads, alone and batched, and the leader's results", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(plain.id, { nil: undefined }), { maxLength: 4 }),
        fc.array(plain.resource, { maxLength: 3 }),
        fc.array(plain.forwardedStatus, { maxLength: 3 }),
        (ids, resources, statuses) => {
          for (const id of ids) {
            const read = create(ForwardedReadRequestSchema, { id });
            expect(encodePlain(ForwardedReadRequestSchema, read)).toBeDefined();
            expectSameBytes(ForwardedReadRequestSchema, read);
          }
          const request = create(ReadBatchRequestSchema, { reads: ids.map((id) => ({ id })) });
          expect(encodePlain(ReadBatchRequestSchema, request)).toBeDefined();
          expectSameBytes(ReadBatchRequestSchema, request);
          const response = create(ReadBatchResponseSchema, {
            results: [
              ...resources.map((value) => ({ outcome: { case: "resource" as const, value } })),
              ...statuses.map((value) => ({ outcome: { case: "error" as const, value } })),
              {},
            ],
          });
          expect(encodePlain(ReadBatchResponseSchema, response)).toBeDefined();
          expectSameBytes(ReadBatchResponseSchema, response);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("leaves to protobuf-es what is not plain: non-ASCII text, unknown fields, big numbers", () => {
    const base = (): Resource =>
      create(ResourceSchema, {
        id: { name: "web", type: { group: "demo", groupVersion: "v1", kind: "Artist" } },
        metadata: { a: "b" },
        status: { s: { conditions: [{ type: "ok" }], updatedAt: { seconds: 5n } } },
      });
    expect(encodePlain(ResourceSchema, base())).toBeDefined();
    const cases: Array<(r: Resource) => void> = [
      (r) => {
        (r.id as { name: string }).name = "wéb";
      },
      (r) => {
        r.metadata.a = "\uD800";
      },
      (r) => {
        r.$unknown = [{ no: 99, wireType: 0, data: new Uint8Array([1]) }];
      },
      (r) => {
        const type = r.id?.type as { $unknown?: unknown };
        type.$unknown = [{ no: 9, wireType: 0, data: new Uint8Array([1]) }];
      },
      (r) => {
        (r.status.s?.conditions[0] as { state: number }).state = -1;
      },
      (r) => {
        (r.status.s?.updatedAt as { seconds: bigint }).seconds = -1n;
      },
      (r) => {
        (r.status.s?.updatedAt as { seconds: bigint }).seconds = 2n ** 60n;
      },
    ];
    for (const change of cases) {
      const resource = base();
      change(resource);
      expect(encodePlain(ResourceSchema, resource)).toBeUndefined();
      expectSameBytes(ResourceSchema, resource);
    }
  });

  it("does what protobuf-es does with a field of the wrong type: its bytes, or its error", () => {
    const broken: Array<() => Resource> = [
      () => {
        const r = create(ResourceSchema, { id: { name: "x" } });
        (r as unknown as { version: number }).version = 5;
        return r;
      },
      () => {
        const r = create(ResourceSchema, {});
        (r as unknown as { id: unknown }).id = { name: "a plain object, no $typeName" };
        return r;
      },
      () => {
        const r = create(ResourceSchema, {});
        (r.metadata as Record<string, unknown>).k = 7;
        return r;
      },
      () => {
        const r = create(ResourceSchema, { data: { typeUrl: "t" } });
        (r.data as unknown as { value: unknown }).value = "not bytes";
        return r;
      },
      () => {
        const r = create(ResourceSchema, {});
        (r as unknown as { status: unknown }).status = { s: undefined };
        return r;
      },
      () => create(ResourceSchema, { status: { s: { conditions: [{ state: 2 ** 31 }] } } }),
      () => {
        const r = create(ResourceSchema, {});
        (r as unknown as { $unknown: unknown }).$unknown = {};
        return r;
      },
    ];
    let threw = 0;
    for (const make of broken) {
      expect(encodePlain(ResourceSchema, make())).toBeUndefined();
      let expected: Uint8Array | Error;
      try {
        expected = toBinary(ResourceSchema, make());
      } catch (error) {
        expected = error as Error;
      }
      if (expected instanceof Error) {
        threw++;
        expect(() => toBinaryFast(ResourceSchema, make())).toThrow(expected.message);
      } else {
        expect(toBinaryFast(ResourceSchema, make())).toEqual(expected);
      }
    }
    expect(threw).toBeGreaterThan(0);
  });

  it("does what protobuf-es does with nulls, odd log types and lists that are not arrays", () => {
    // Added in review: protobuf-es writes a null message field as an empty message, and a
    // conditions list that is not an array as no conditions; it writes a negative log type in
    // ten bytes and refuses a fractional one.
    const resources: Array<() => Resource> = [
      () => {
        const r = create(ResourceSchema, { version: "1" });
        (r as unknown as { id: unknown }).id = null;
        return r;
      },
      () => {
        const r = create(ResourceSchema, { status: { s: {} } });
        (r.status.s as unknown as { updatedAt: unknown }).updatedAt = null;
        return r;
      },
      () => {
        const r = create(ResourceSchema, { status: { s: {} } });
        const condition = create(ConditionSchema, { type: "ok" });
        (r.status.s as unknown as { conditions: unknown }).conditions = new Set([condition]);
        return r;
      },
    ];
    const logs: Array<() => MessageShape<typeof LogSchema>> = [-1, 2 ** 31, 1.5, 2 ** 53].map(
      (type) => () => {
        const log = create(LogSchema, { request: { case: "delete", value: { version: "1" } } });
        (log as unknown as { type: number }).type = type;
        return log;
      },
    );
    const cases: Array<[DescMessage, () => { $typeName: string }]> = [
      ...resources.map((make): [DescMessage, () => Resource] => [ResourceSchema, make]),
      ...logs.map((make): [DescMessage, () => MessageShape<typeof LogSchema>] => [LogSchema, make]),
    ];
    for (const [schema, make] of cases) {
      let expected: Uint8Array | Error;
      try {
        expected = toBinary(schema, make() as never);
      } catch (error) {
        expected = error as Error;
      }
      if (expected instanceof Error) {
        expect(() => toBinaryFast(schema, make() as never)).toThrow(expected.message);
      } else {
        expect(toBinaryFast(schema, make() as never)).toEqual(expected);
      }
    }
  });

  it("hands every other schema to protobuf-es", () => {
    const condition = create(ConditionSchema, { type: "ok", state: 1 });
    expect(encodePlain(ConditionSchema, condition)).toBeUndefined();
    expectSameBytes(ConditionSchema, condition);
  });
});

describe("toBinaryKnown", () => {
  it("writes what toBinary writes, less the fields the schema does not know, at any depth", () => {
    const resource = create(ResourceSchema, {
      id: { name: "web", type: { group: "g", groupVersion: "v1", kind: "k" } },
      metadata: { a: "b" },
    });
    const plain = toBinary(ResourceSchema, resource);
    expect(unknownFields(resource, "resource")).toEqual([]);
    const unknown = (no: number) => [{ no, wireType: 0, data: new Uint8Array([1]) }];
    Object.assign(resource, { $unknown: unknown(98) });
    Object.assign(resource.id?.type as object, { $unknown: unknown(9) });
    expect(unknownFields(resource, "resource")).toEqual([
      "resource: field 98",
      "resource.id.type: field 9",
    ]);
    expect(toBinaryFast(ResourceSchema, resource).byteLength).toBeGreaterThan(plain.byteLength);
    expect(Buffer.from(toBinaryKnown(ResourceSchema, resource)).equals(plain)).toBe(true);
  });
});
