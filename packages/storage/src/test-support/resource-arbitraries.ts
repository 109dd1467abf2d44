import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { ConditionSchema, ResourceSchema, StatusSchema } from "@raftstore/proto";
import { ForwardedStatusSchema } from "@raftstore/proto/storage/v1";
import fc from "fast-check";

// Generated resources for the tests of the hand-written protobuf writer and reader: every field,
// empty and set, map keys in both of JavaScript's key orders (integer-like keys come first),
// and, unless `plainOnly`, the forms only protobuf-es handles (non-ASCII strings, negative and
// huge numbers).

const ascii = fc.string({ unit: fc.constantFrom("a", "b", "Z", "0", "9", "-", ".", "/", "_") });
/** Mostly ASCII; now and then a string only protobuf-es writes. */
const text = (plainOnly: boolean) =>
  plainOnly
    ? ascii
    : fc.oneof(
        { weight: 8, arbitrary: ascii },
        { weight: 1, arbitrary: fc.string({ unit: "grapheme" }) },
        { weight: 1, arbitrary: fc.constantFrom("\uD800", "é", "\u007f", "\u0080") },
      );
const mapKey = fc.oneof(ascii, fc.constantFrom("0", "1", "10", "2", "-1", "01"));

export function resourceArbitraries(plainOnly: boolean) {
  const str = text(plainOnly);
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const type = fc.record({ group: str, groupVersion: str, kind: str });
  const tenancy = fc.record({ partition: str, namespace: str });
  const id = fc.record({ uid: str, name: str, type: maybe(type), tenancy: maybe(tenancy) });
  const smallNumber = plainOnly
    ? fc.nat({ max: 0x7fff_ffff })
    : fc.oneof(fc.nat({ max: 0x7fff_ffff }), fc.integer({ min: -5, max: -1 }));
  const seconds = plainOnly
    ? fc.bigInt({ min: 0n, max: 2n ** 53n - 1n })
    : fc.oneof(
        fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      );
  const condition = fc
    .record({
      type: str,
      state: fc.oneof(fc.constantFrom(0, 1, 2), smallNumber),
      reason: str,
      message: str,
      resource: maybe(
        fc.record({ type: maybe(type), tenancy: maybe(tenancy), name: str, section: str }),
      ),
    })
    .map((c) => create(ConditionSchema, c));
  const status = fc
    .record({
      observedGeneration: str,
      conditions: fc.array(condition, { maxLength: 3 }),
      updatedAt: maybe(
        fc.record({ seconds, nanos: smallNumber }).map((t) => create(TimestampSchema, t)),
      ),
    })
    .map((s) => create(StatusSchema, s));
  const resource = fc
    .record({
      id: maybe(id),
      owner: maybe(id),
      version: str,
      generation: str,
      metadata: fc.dictionary(mapKey, str, { maxKeys: 4 }),
      status: fc.dictionary(mapKey, status, { maxKeys: 2 }),
      data: maybe(fc.record({ typeUrl: str, value: fc.uint8Array({ maxLength: 300 }) })),
    })
    .map((r) => create(ResourceSchema, r));
  /** A failed write's status, as the leader answers it in a forwarded batch. */
  const forwardedStatus = fc
    .record({
      code: fc.integer({ min: 1, max: 16 }),
      message: str,
      metadata: fc.dictionary(mapKey, str, { maxKeys: 3 }),
      details: fc.array(fc.record({ typeUrl: str, value: fc.uint8Array({ maxLength: 40 }) }), {
        maxLength: 2,
      }),
    })
    .map((s) => create(ForwardedStatusSchema, s));
  return { resource, id, forwardedStatus };
}
