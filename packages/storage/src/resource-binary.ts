import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { AnySchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  ConditionSchema,
  IDSchema,
  ReferenceSchema,
  ResourceSchema,
  StatusSchema,
  TenancySchema,
  TypeSchema,
  WatchEvent_DeleteSchema,
  WatchEvent_EndOfSnapshotSchema,
  WatchEvent_UpsertSchema,
  WatchEventSchema,
  WatchListResponseSchema,
} from "@raftstore/proto";
import {
  DeleteRequestSchema,
  ReadRequestSchema as ForwardedReadRequestSchema,
  ForwardedStatusSchema,
  WriteRequestSchema as ForwardedWriteRequestSchema,
  LogSchema,
  ReadBatchRequestSchema,
  ReadBatchResponseSchema,
  ResourceResultSchema,
  WriteBatchRequestSchema,
  WriteBatchResponseSchema,
} from "@raftstore/proto/storage/v1";
import { oneResourceMessages, resourceListMessages } from "./resource-messages.js";

// Resources, and the messages that carry them, written to protobuf binary by hand.
//
// protobuf-es's reflective writer costs about 40 µs for one small resource on the 2-core
// machine the benchmarks run on: a TextEncoder call per string, and a BinaryWriter that keeps
// bytes in a JavaScript array and forks and joins a buffer for every nested message. A node
// writes a resource several times per write (the size check, the forwarded request, the Raft
// log entry, the answer to the follower and the answer to the client), and once per read. Here
// the size of every nested message is worked out first, then the bytes go into one array.
//
// The bytes are exactly what `toBinary` writes — fields in number order, implicit-presence
// defaults left out, map entries in the object's key order, unknown fields last — which the
// tests check against protobuf-es over generated messages. Only the plain form is written here:
// ASCII strings, messages without unknown fields, numbers in range, each nested message of its
// declared type. Anything else (a non-ASCII name, a message with unknown fields, a field of the
// wrong type, …) goes to `toBinary`, which writes it or throws its own error for it.

const LEN = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;
/** Field 1..7, length-delimited; field 1..2 varint. Every tag here fits one byte. */
const len1 = tag(1, LEN);
const len2 = tag(2, LEN);
const len3 = tag(3, LEN);
const len4 = tag(4, LEN);
const len5 = tag(5, LEN);
const len6 = tag(6, LEN);
const len7 = tag(7, LEN);
const varint1 = tag(1, 0);
const varint2 = tag(2, 0);
const varint3 = tag(3, 0);

/** Thrown inside this module when a message is not in the plain form; never escapes it. */
const notPlain = new Error("not in the plain form");

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** A length-delimited field's size: tag, length, content. */
const delimited = (size: number) => 1 + varintSize(size) + size;

/** A varint field's size with its tag, or nothing for 0 (left out). */
const varintField = (value: number) => (value === 0 ? 0 : 1 + varintSize(value));

/** An ASCII string's length (its UTF-8 size); a non-string or non-ASCII one is not plain. */
function asciiLength(value: unknown): number {
  if (typeof value !== "string") throw notPlain;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) throw notPlain;
  return value.length;
}

/** A proto3 string field's size: nothing for "". */
function stringField(value: unknown): number {
  const n = asciiLength(value);
  return n === 0 ? 0 : delimited(n);
}

/** Checks that `value` is a message of `typeName` with no unknown fields. */
function plainMessage(value: unknown, typeName: string): Record<string, unknown> {
  const message = value as { $typeName?: unknown; $unknown?: unknown[] } | null;
  if (typeof message !== "object" || message === null || message.$typeName !== typeName) {
    throw notPlain;
  }
  const unknown = message.$unknown;
  if (unknown !== undefined && (!Array.isArray(unknown) || unknown.length > 0)) throw notPlain;
  return message as Record<string, unknown>;
}

/** A non-negative integer an int32/enum field holds, or not plain (negatives take 10 bytes). */
function smallInt(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0x7fff_ffff) {
    throw notPlain;
  }
  return value;
}

const maxSafeBigint = BigInt(Number.MAX_SAFE_INTEGER);

/** An int64 held as a bigint, in [0, 2^53). */
function int64(value: unknown): number {
  if (typeof value !== "bigint" || value < 0n || value > maxSafeBigint) {
    throw notPlain;
  }
  return Number(value);
}

/**
 * The sizes of a message tree, worked out once: each nested message's size is kept in the order
 * the writer meets it (pre-order), and the writer takes them back in the same order.
 */
class Sizes {
  readonly list: number[] = [];

  /**
   * A nested message field's whole size (tag, length, content), its content's kept: the slot is
   * taken before the content is measured, so that sizes nested in it come after it.
   */
  nested(value: unknown, measure: Measure): number {
    const slot = this.list.push(0) - 1;
    const size = measure(this, value);
    this.list[slot] = size;
    return delimited(size);
  }

  /** As `nested`, or nothing for a message field that is not set. */
  optional(value: unknown, measure: Measure): number {
    return value === undefined ? 0 : this.nested(value, measure);
  }
}

/** Measures one message's content, checking that it is plain. */
type Measure = (sizes: Sizes, value: unknown) => number;

const measureType: Measure = (_, v) => {
  const m = plainMessage(v, TypeSchema.typeName);
  return stringField(m.group) + stringField(m.groupVersion) + stringField(m.kind);
};

const measureTenancy: Measure = (_, v) => {
  const m = plainMessage(v, TenancySchema.typeName);
  return stringField(m.partition) + stringField(m.namespace);
};

const measureId: Measure = (sizes, v) => {
  const m = plainMessage(v, IDSchema.typeName);
  return (
    stringField(m.uid) +
    stringField(m.name) +
    sizes.optional(m.type, measureType) +
    sizes.optional(m.tenancy, measureTenancy)
  );
};

const measureReference: Measure = (sizes, v) => {
  const m = plainMessage(v, ReferenceSchema.typeName);
  return (
    sizes.optional(m.type, measureType) +
    sizes.optional(m.tenancy, measureTenancy) +
    stringField(m.name) +
    stringField(m.section)
  );
};

const measureCondition: Measure = (sizes, v) => {
  const m = plainMessage(v, ConditionSchema.typeName);
  return (
    stringField(m.type) +
    varintField(smallInt(m.state)) +
    stringField(m.reason) +
    stringField(m.message) +
    sizes.optional(m.resource, measureReference)
  );
};

const measureTimestamp: Measure = (_, v) => {
  const m = plainMessage(v, TimestampSchema.typeName);
  return varintField(int64(m.seconds)) + varintField(smallInt(m.nanos));
};

const measureStatus: Measure = (sizes, v) => {
  const m = plainMessage(v, StatusSchema.typeName);
  let size = stringField(m.observedGeneration);
  const conditions = m.conditions;
  if (!Array.isArray(conditions)) throw notPlain;
  for (const c of conditions) size += sizes.nested(c, measureCondition);
  return size + sizes.optional(m.updatedAt, measureTimestamp);
};

const measureAny: Measure = (_, v) => {
  const m = plainMessage(v, AnySchema.typeName);
  const bytes = m.value;
  if (!(bytes instanceof Uint8Array)) throw notPlain;
  return stringField(m.typeUrl) + (bytes.byteLength === 0 ? 0 : delimited(bytes.byteLength));
};

/** A map field's object: its keys are the entries, in the order protobuf-es writes them. */
function mapObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null) throw notPlain;
  return value as Record<string, unknown>;
}

const measureResource: Measure = (sizes, v) => {
  const m = plainMessage(v, ResourceSchema.typeName);
  let size =
    sizes.optional(m.id, measureId) +
    sizes.optional(m.owner, measureId) +
    stringField(m.version) +
    stringField(m.generation);
  size += measureStringMap(sizes, m.metadata);
  const statuses = mapObject(m.status);
  for (const key of Object.keys(statuses)) {
    size += sizes.nested(key, (s) => keyField(key) + s.nested(statuses[key], measureStatus));
  }
  return size + sizes.optional(m.data, measureAny);
};

/** A map entry's key field. */
const keyField = (key: string) => delimited(asciiLength(key));

/**
 * A map<string, string> field's entries. A map entry is a nested message whose key (1) and value
 * (2) are written even when empty.
 */
function measureStringMap(sizes: Sizes, value: unknown): number {
  const map = mapObject(value);
  let size = 0;
  for (const key of Object.keys(map)) {
    size += sizes.nested(key, () => keyField(key) + delimited(asciiLength(map[key])));
  }
  return size;
}

/** Writes into one array, taking nested sizes from `sizes` in the order they were measured. */
class Writer {
  readonly bytes: Uint8Array;
  pos = 0;
  #next = 0;
  readonly #sizes: number[];

  constructor(bytes: Uint8Array, sizes: number[]) {
    this.bytes = bytes;
    this.#sizes = sizes;
  }

  varint(value: number): void {
    const bytes = this.bytes;
    while (value >= 0x80) {
      bytes[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    bytes[this.pos++] = value;
  }

  /** The next nested message's tag and length; its content follows. */
  open(fieldTag: number): void {
    this.bytes[this.pos++] = fieldTag;
    this.varint(this.#sizes[this.#next++] as number);
  }

  /** A string field, left out when empty (the caller has checked it is ASCII). */
  string(fieldTag: number, value: string): void {
    if (value.length > 0) this.string0(fieldTag, value);
  }

  /** A string field written even when empty (map entries). */
  string0(fieldTag: number, value: string): void {
    const bytes = this.bytes;
    bytes[this.pos++] = fieldTag;
    this.varint(value.length);
    let pos = this.pos;
    for (let i = 0; i < value.length; i++) bytes[pos++] = value.charCodeAt(i);
    this.pos = pos;
  }

  uint(fieldTag: number, value: number): void {
    if (value === 0) return;
    this.bytes[this.pos++] = fieldTag;
    this.varint(value);
  }

  raw(fieldTag: number, value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.bytes[this.pos++] = fieldTag;
    this.varint(value.byteLength);
    this.bytes.set(value, this.pos);
    this.pos += value.byteLength;
  }
}

// The writers below read fields the measuring pass has checked: same shape, same order.
type Fields = Record<string, unknown>;

function writeType(w: Writer, m: Fields): void {
  w.string(len1, m.group as string);
  w.string(len2, m.groupVersion as string);
  w.string(len3, m.kind as string);
}

function writeTenancy(w: Writer, m: Fields): void {
  w.string(len1, m.partition as string);
  w.string(len2, m.namespace as string);
}

function writeNested(
  w: Writer,
  fieldTag: number,
  m: unknown,
  write: (w: Writer, m: Fields) => void,
) {
  if (m === undefined) return;
  w.open(fieldTag);
  write(w, m as Fields);
}

function writeId(w: Writer, m: Fields): void {
  w.string(len1, m.uid as string);
  w.string(len2, m.name as string);
  writeNested(w, len3, m.type, writeType);
  writeNested(w, len4, m.tenancy, writeTenancy);
}

function writeReference(w: Writer, m: Fields): void {
  writeNested(w, len1, m.type, writeType);
  writeNested(w, len2, m.tenancy, writeTenancy);
  w.string(len3, m.name as string);
  w.string(len4, m.section as string);
}

function writeCondition(w: Writer, m: Fields): void {
  w.string(len1, m.type as string);
  w.uint(varint2, m.state as number);
  w.string(len3, m.reason as string);
  w.string(len4, m.message as string);
  writeNested(w, len5, m.resource, writeReference);
}

function writeTimestamp(w: Writer, m: Fields): void {
  w.uint(varint1, Number(m.seconds as bigint));
  w.uint(varint2, m.nanos as number);
}

function writeStatus(w: Writer, m: Fields): void {
  w.string(len1, m.observedGeneration as string);
  for (const c of m.conditions as Fields[]) writeNested(w, len2, c, writeCondition);
  writeNested(w, len3, m.updatedAt, writeTimestamp);
}

function writeAny(w: Writer, m: Fields): void {
  w.string(len1, m.typeUrl as string);
  w.raw(len2, m.value as Uint8Array);
}

function writeStringMap(w: Writer, fieldTag: number, map: Record<string, string>): void {
  for (const key of Object.keys(map)) {
    w.open(fieldTag);
    w.string0(len1, key);
    w.string0(len2, map[key] as string);
  }
}

function writeResource(w: Writer, m: Fields): void {
  writeNested(w, len1, m.id, writeId);
  writeNested(w, len2, m.owner, writeId);
  w.string(len3, m.version as string);
  w.string(len4, m.generation as string);
  writeStringMap(w, len5, m.metadata as Record<string, string>);
  const statuses = m.status as Record<string, Fields>;
  for (const key of Object.keys(statuses)) {
    w.open(len6);
    w.string0(len1, key);
    writeNested(w, len2, statuses[key], writeStatus);
  }
  writeNested(w, len7, m.data, writeAny);
}

/** How a message that carries resources is measured and written. */
interface Shape {
  measure: Measure;
  write(w: Writer, message: Fields): void;
}

const resourceShape: Shape = { measure: measureResource, write: writeResource };

/** A message whose one field, number 1, is a Resource (ReadResponse, WriteRequest, …). */
function oneResource(name: string): Shape {
  return oneField(name, "resource", resourceShape);
}

/** A message whose one field, number 1, named `field`, is a message of `shape`. */
function oneField(name: string, field: string, shape: Shape): Shape {
  return {
    measure: (sizes, v) => sizes.optional(plainMessage(v, name)[field], shape.measure),
    write: (w, m) => writeNested(w, len1, m[field], shape.write),
  };
}

/** A message whose one field, number 1, is a list of messages of one shape. */
function listOf(name: string, field: string, item: Shape): Shape {
  return {
    measure: (sizes, v) => {
      const list = plainMessage(v, name)[field];
      if (!Array.isArray(list)) throw notPlain;
      let size = 0;
      for (const entry of list) size += sizes.nested(entry, item.measure);
      return size;
    },
    write: (w, m) => {
      for (const entry of m[field] as Fields[]) writeNested(w, len1, entry, item.write);
    },
  };
}

/** A message whose one field, number 1, is a list of resources (ListResponse, …). */
const resourceList = (name: string) => listOf(name, "resources", resourceShape);

/** A forwarded write (also a log entry's request): the resource, and whether to overwrite. */
const forwardedWrite: Shape = {
  measure: (sizes, v) => {
    const m = plainMessage(v, ForwardedWriteRequestSchema.typeName);
    if (typeof m.overwrite !== "boolean") throw notPlain;
    return sizes.optional(m.resource, measureResource) + (m.overwrite ? 2 : 0);
  },
  write: (w, m) => {
    writeNested(w, len1, m.resource, writeResource);
    if (m.overwrite) w.uint(varint2, 1);
  },
};
/** A follower's forwarded strong read: the id. */
const forwardedRead = oneField(ForwardedReadRequestSchema.typeName, "id", {
  measure: measureId,
  write: writeId,
});

const upsert = oneResource(WatchEvent_UpsertSchema.typeName);
const deleted = oneResource(WatchEvent_DeleteSchema.typeName);
const endOfSnapshot: Shape = {
  measure: (_, v) => {
    plainMessage(v, WatchEvent_EndOfSnapshotSchema.typeName);
    return 0;
  },
  write: () => {},
};

/**
 * A message whose only field is a oneof, named `field`, of message cases numbered 1, 2, … in the
 * order of `cases`.
 */
function oneofOf(name: string, field: string, cases: ReadonlyArray<[string, Shape]>): Shape {
  const byCase = new Map(cases.map(([c, shape], i) => [c, { tag: tag(i + 1, LEN), shape }]));
  return {
    measure: (sizes, v) => {
      const oneof = plainMessage(v, name)[field] as { case?: unknown; value?: unknown } | undefined;
      if (typeof oneof !== "object" || oneof === null) throw notPlain;
      if (oneof.case === undefined) return 0;
      const chosen = byCase.get(oneof.case as string);
      if (chosen === undefined) throw notPlain;
      return sizes.nested(oneof.value, chosen.shape.measure);
    },
    write: (w, m) => {
      const oneof = m[field] as { case?: string; value: Fields };
      const chosen = oneof.case === undefined ? undefined : byCase.get(oneof.case);
      if (chosen !== undefined) writeNested(w, chosen.tag, oneof.value, chosen.shape.write);
    },
  };
}

/** A watch event: an upsert, a delete or the end of the snapshot. */
const watchEvent = oneofOf(WatchEventSchema.typeName, "event", [
  ["upsert", upsert],
  ["delete", deleted],
  ["endOfSnapshot", endOfSnapshot],
]);

/** What WatchList streams: one event. */
const watchListResponse = oneField(WatchListResponseSchema.typeName, "event", watchEvent);

/** A failed write's status in a forwarded batch: code, message, trailers, details. */
const forwardedStatus: Shape = {
  measure: (sizes, v) => {
    const m = plainMessage(v, ForwardedStatusSchema.typeName);
    let size = varintField(smallInt(m.code)) + stringField(m.message);
    size += measureStringMap(sizes, m.metadata);
    const details = m.details;
    if (!Array.isArray(details)) throw notPlain;
    for (const detail of details) size += sizes.nested(detail, measureAny);
    return size;
  },
  write: (w, m) => {
    w.uint(varint1, m.code as number);
    w.string(len2, m.message as string);
    writeStringMap(w, len3, m.metadata as Record<string, string>);
    for (const detail of m.details as Fields[]) writeNested(w, len4, detail, writeAny);
  },
};

/** One result of a forwarded batch of writes or reads: the resource, or the call's status. */
const resourceResult = oneofOf(ResourceResultSchema.typeName, "outcome", [
  ["resource", resourceShape],
  ["error", forwardedStatus],
]);

/** A delete (also a log entry's request): the id, the version, whether of the incarnation. */
const measureDelete: Measure = (sizes, v) => {
  const m = plainMessage(v, DeleteRequestSchema.typeName);
  if (typeof m.incarnation !== "boolean") throw notPlain;
  return sizes.optional(m.id, measureId) + stringField(m.version) + (m.incarnation ? 2 : 0);
};

/**
 * The Raft log entry: its type, then a write or an overwrite (a WriteRequest) or a delete or an
 * incarnation's delete (a DeleteRequest).
 */
const logShape: Shape = {
  measure: (sizes, v) => {
    const m = plainMessage(v, LogSchema.typeName);
    const request = m.request as { case?: unknown; value?: unknown } | undefined;
    if (typeof request !== "object" || request === null) throw notPlain;
    const size = varintField(smallInt(m.type));
    switch (request.case) {
      case undefined:
        return size;
      case "write":
      case "overwrite":
        return size + sizes.nested(request.value, forwardedWrite.measure);
      case "delete":
      case "deleteIncarnation":
        return size + sizes.nested(request.value, measureDelete);
      default:
        throw notPlain;
    }
  },
  write: (w, m) => {
    w.uint(varint1, m.type as number);
    const request = m.request as { case?: string; value: Fields };
    if (request.case === "write") {
      writeNested(w, len2, request.value, forwardedWrite.write);
    } else if (request.case === "delete") {
      writeNested(w, len3, request.value, writeDelete);
    } else if (request.case === "overwrite") {
      writeNested(w, len4, request.value, forwardedWrite.write);
    } else if (request.case === "deleteIncarnation") {
      writeNested(w, len5, request.value, writeDelete);
    }
  },
};

function writeDelete(w: Writer, m: Fields): void {
  writeNested(w, len1, m.id, writeId);
  w.string(len2, m.version as string);
  if (m.incarnation) w.uint(varint3, 1);
}

/** The shape of a message whose one field, number 1, is a list of `item`, keyed by its name. */
function listEntry(schema: DescMessage, field: string, item: Shape): [string, Shape] {
  return [schema.typeName, listOf(schema.typeName, field, item)];
}

const shapes = new Map<string, Shape>([
  [ResourceSchema.typeName, resourceShape],
  [LogSchema.typeName, logShape],
  [WatchEventSchema.typeName, watchEvent],
  [WatchListResponseSchema.typeName, watchListResponse],
  [ForwardedReadRequestSchema.typeName, forwardedRead],
  [ForwardedWriteRequestSchema.typeName, forwardedWrite],
  ...oneResourceMessages.map((s): [string, Shape] => [s.typeName, oneResource(s.typeName)]),
  ...resourceListMessages.map((s): [string, Shape] => [s.typeName, resourceList(s.typeName)]),
  listEntry(WriteBatchRequestSchema, "writes", forwardedWrite),
  listEntry(WriteBatchResponseSchema, "results", resourceResult),
  listEntry(ReadBatchRequestSchema, "reads", forwardedRead),
  listEntry(ReadBatchResponseSchema, "results", resourceResult),
]);

/**
 * Where an encoding is written: an array of exactly `size` bytes, every one of which the encoder
 * then writes. The default is a new Uint8Array; a caller that sends the bytes and drops them can
 * hand out pooled memory (`Buffer.allocUnsafe`), which on Node costs a tenth of a new array's
 * own backing store, or reserve room around the message (a frame header).
 */
export type AllocateBytes = (size: number) => Uint8Array;

const newBytes: AllocateBytes = (size) => new Uint8Array(size);

/**
 * `toBinary(schema, message)`, the same bytes, written by hand for resources and the messages
 * that carry them (the resource and forwarding services' reads, writes and lists, watch
 * events and what WatchList streams, and the Raft log entry); every other message, and any
 * message outside the plain form, goes to protobuf-es. The hand-written bytes go into the array
 * `allocate` returns; protobuf-es's are its own (compare them with what `allocate` returned to
 * tell the two apart).
 */
export function toBinaryFast<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  allocate: AllocateBytes = newBytes,
): Uint8Array {
  return encodePlain(schema, message, allocate) ?? toBinary(schema, message);
}

/**
 * `toBinaryFast`, leaving out the fields of `message` (and of the messages in it) that its schema
 * does not know, which protobuf-es keeps from the bytes it read: for what must hold only what
 * this version knows, such as a Raft log entry built from a caller's message (a node stops at an
 * entry with unknown fields, `fromBinaryKnowing`, since a newer version must have written it).
 */
export function toBinaryKnown<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array {
  return encodePlain(schema, message) ?? toBinary(schema, message, { writeUnknownFields: false });
}

/**
 * The hand-written encoding of `message`, or undefined when this module does not write it (a
 * schema it does not know, a message outside the plain form). Exported for the tests.
 */
export function encodePlain(
  schema: DescMessage,
  message: { $typeName: string },
  allocate: AllocateBytes = newBytes,
): Uint8Array | undefined {
  const shape = shapes.get(schema.typeName);
  if (shape === undefined || message.$typeName !== schema.typeName) return undefined;
  const sizes = new Sizes();
  let size: number;
  try {
    size = shape.measure(sizes, message);
  } catch {
    // Not plain (or a shape nothing here expects): protobuf-es writes it, or says what is wrong.
    return undefined;
  }
  const bytes = allocate(size);
  if (bytes.byteLength !== size) {
    throw new Error(`resource-binary: allocate(${size}) returned ${bytes.byteLength} bytes`);
  }
  const writer = new Writer(bytes, sizes.list);
  shape.write(writer, message as unknown as Fields);
  if (writer.pos !== size) {
    throw new Error(`resource-binary: wrote ${writer.pos} bytes of ${size} for ${schema.typeName}`);
  }
  return bytes;
}

/** The size of a resource's protobuf encoding, without writing it. */
export function resourceBinarySize(resource: MessageShape<typeof ResourceSchema>): number {
  try {
    return measureResource(new Sizes(), resource);
  } catch {
    return toBinary(ResourceSchema, resource).byteLength;
  }
}
