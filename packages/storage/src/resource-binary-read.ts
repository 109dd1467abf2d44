import { type DescMessage, fromBinary, type MessageShape, protoInt64 } from "@bufbuild/protobuf";
import { AnySchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  ConditionSchema,
  IDSchema,
  ReadRequestSchema,
  ReferenceSchema,
  ResourceSchema,
  StatusSchema,
  TenancySchema,
  TypeSchema,
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

// Resources, and the messages that carry them, read from protobuf binary by hand: the reading
// half of `resource-binary.ts`. The objects are exactly what protobuf-es's `fromBinary` makes —
// the same fields, in the same key order, bytes as views of the input — which the tests check.
// Only the plain form is read here: fields of the declared wire types, ASCII strings, each
// nested message once, no unknown fields, numbers in range. Anything else (and any input that
// is not valid protobuf) goes to `fromBinary`, which reads it or throws its own error for it.

/** Thrown inside this module when the input is not in the plain form; never escapes it. */
const notPlain = new Error("not in the plain form");

const VARINT = 0;
const LEN = 2;

type Fields = Record<string, unknown>;

class Reader {
  pos = 0;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** A varint of at most 2^53 - 1 that ends before `end`. */
  varint(end: number): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= end) throw notPlain;
      const byte = buf[this.pos++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw notPlain;
        return value;
      }
      scale *= 0x80;
    }
    throw notPlain;
  }

  /** A non-negative int32 or enum value. */
  int32(end: number): number {
    const value = this.varint(end);
    if (value > 0x7fff_ffff) throw notPlain;
    return value;
  }

  /** The end of a length-delimited field that starts here, within `end`. */
  delimited(end: number): number {
    const length = this.varint(end);
    const stop = this.pos + length;
    if (stop > end) throw notPlain;
    return stop;
  }

  /** An ASCII string field's value. */
  string(end: number): string {
    const stop = this.delimited(end);
    const buf = this.buf;
    const start = this.pos;
    this.pos = stop;
    let hash = stop - start;
    for (let i = start; i < stop; i++) {
      const byte = buf[i] as number;
      if (byte > 0x7f) throw notPlain;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    if (stop - start > SHORT) return latin1.decode(buf.subarray(start, stop));
    const slot = (hash ^ (hash >>> 15)) & (recentStrings.length - 1);
    const recent = recentStrings[slot] as string;
    if (recent.length === stop - start) {
      let i = 0;
      while (i < recent.length && recent.charCodeAt(i) === buf[start + i]) i++;
      if (i === recent.length) return recent;
    }
    const value = String.fromCharCode.apply(null, buf.subarray(start, stop) as unknown as number[]);
    recentStrings[slot] = value;
    return value;
  }

  /** A bytes field's value: a view of the input, as protobuf-es gives it. */
  bytes(end: number): Uint8Array {
    const stop = this.delimited(end);
    const value = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return value;
  }
}

/** ASCII decodes the same as Latin-1; this decoder never replaces anything in it. */
const latin1 = new TextDecoder("latin1");

/** Strings up to this long are built from their bytes in JavaScript and looked up in the cache. */
const SHORT = 64;

/**
 * The short strings read last, by a hash of their bytes (a direct-mapped cache, one string per
 * slot). Most strings of a resource repeat from one resource to the next (its type, tenancy,
 * typeUrl, names of a busy key): a hit returns the same string, found by comparing the bytes,
 * and allocates nothing. A miss replaces the slot. Strings are immutable, so sharing one is
 * invisible to the reader.
 */
const recentStrings: string[] = new Array<string>(1024).fill("");

/**
 * Reads the fields of one message, from the reader's position to `end`, handing each to
 * `field(number, wireType)`; a field it does not know is not plain.
 */
function readFields(
  r: Reader,
  end: number,
  field: (fieldNumber: number, wireType: number) => void,
): void {
  const buf = r.buf;
  while (r.pos < end) {
    // Every field here is numbered 1 to 7, so its tag is one byte. A longer tag is not plain:
    // protobuf-es refuses one of more than 5 bytes, however small its value.
    const tag = buf[r.pos++] as number;
    if (tag >= 0x80) throw notPlain;
    field(tag >>> 3, tag & 7);
  }
  if (r.pos !== end) throw notPlain;
}

function expect(wireType: number, expected: number): void {
  if (wireType !== expected) throw notPlain;
}

/** A string field's value. */
function stringField(r: Reader, end: number, wireType: number): string {
  expect(wireType, LEN);
  return r.string(end);
}

/** A non-negative int32 or enum field's value. */
function int32Field(r: Reader, end: number, wireType: number): number {
  expect(wireType, VARINT);
  return r.int32(end);
}

/** A nested message field, read once: a second occurrence would merge, which is not plain. */
function nested(r: Reader, end: number, wireType: number, current: unknown, read: Read): Fields {
  expect(wireType, LEN);
  if (current !== undefined) throw notPlain;
  const stop = r.delimited(end);
  const value = read(r, stop);
  r.pos = stop;
  return value;
}

/** Reads one message's content, from the position to `end`. */
type Read = (r: Reader, end: number) => Fields;

/** A message of string fields only, numbered 1, 2, … in the order of `names`. */
function stringsOnly(typeName: string, names: readonly string[]): Read {
  return (r, end) => {
    const m: Fields = { $typeName: typeName };
    for (const name of names) m[name] = "";
    readFields(r, end, (n, wt) => {
      const name = names[n - 1];
      if (name === undefined) throw notPlain;
      m[name] = stringField(r, end, wt);
    });
    return m;
  };
}

const readType = stringsOnly(TypeSchema.typeName, ["group", "groupVersion", "kind"]);
const readTenancy = stringsOnly(TenancySchema.typeName, ["partition", "namespace"]);

const readId: Read = (r, end) => {
  const m: Fields = { $typeName: IDSchema.typeName, uid: "", name: "" };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.uid = stringField(r, end, wt);
    else if (n === 2) m.name = stringField(r, end, wt);
    else if (n === 3) m.type = nested(r, end, wt, m.type, readType);
    else if (n === 4) m.tenancy = nested(r, end, wt, m.tenancy, readTenancy);
    else throw notPlain;
  });
  return m;
};

const readReference: Read = (r, end) => {
  const m: Fields = { $typeName: ReferenceSchema.typeName, name: "", section: "" };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.type = nested(r, end, wt, m.type, readType);
    else if (n === 2) m.tenancy = nested(r, end, wt, m.tenancy, readTenancy);
    else if (n === 3) m.name = stringField(r, end, wt);
    else if (n === 4) m.section = stringField(r, end, wt);
    else throw notPlain;
  });
  return m;
};

const readCondition: Read = (r, end) => {
  const m: Fields = {
    $typeName: ConditionSchema.typeName,
    type: "",
    state: 0,
    reason: "",
    message: "",
  };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.type = stringField(r, end, wt);
    else if (n === 2) m.state = int32Field(r, end, wt);
    else if (n === 3) m.reason = stringField(r, end, wt);
    else if (n === 4) m.message = stringField(r, end, wt);
    else if (n === 5) m.resource = nested(r, end, wt, m.resource, readReference);
    else throw notPlain;
  });
  return m;
};

const readTimestamp: Read = (r, end) => {
  // protobuf-es reads int64 as a string where BigInt is missing or BUF_BIGINT_DISABLE is set.
  if (!protoInt64.supported) throw notPlain;
  const m: Fields = { $typeName: TimestampSchema.typeName, seconds: 0n, nanos: 0 };
  readFields(r, end, (n, wt) => {
    expect(wt, VARINT);
    if (n === 1) m.seconds = BigInt(r.varint(end));
    else if (n === 2) m.nanos = r.int32(end);
    else throw notPlain;
  });
  return m;
};

const readStatus: Read = (r, end) => {
  const conditions: Fields[] = [];
  const m: Fields = { $typeName: StatusSchema.typeName, observedGeneration: "", conditions };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.observedGeneration = stringField(r, end, wt);
    else if (n === 2) conditions.push(nested(r, end, wt, undefined, readCondition));
    else if (n === 3) m.updatedAt = nested(r, end, wt, m.updatedAt, readTimestamp);
    else throw notPlain;
  });
  return m;
};

const readAny: Read = (r, end) => {
  const m: Fields = { $typeName: AnySchema.typeName, typeUrl: "", value: new Uint8Array(0) };
  readFields(r, end, (n, wt) => {
    expect(wt, LEN);
    if (n === 1) m.typeUrl = r.string(end);
    else if (n === 2) m.value = r.bytes(end);
    else throw notPlain;
  });
  return m;
};

/** One map entry: its key (1) and value (2), each at most once and neither left out. */
function mapEntry(
  r: Reader,
  end: number,
  wireType: number,
  readValue: (r: Reader, end: number, wireType: number) => unknown,
): [string, unknown] {
  expect(wireType, LEN);
  const stop = r.delimited(end);
  let key: string | undefined;
  let value: unknown;
  readFields(r, stop, (n, wt) => {
    if (n === 1 && key === undefined) key = stringField(r, stop, wt);
    else if (n === 2 && value === undefined) value = readValue(r, stop, wt);
    else throw notPlain;
  });
  if (key === undefined || value === undefined) throw notPlain;
  return [key, value];
}

/**
 * Adds a map entry. The one place where this reader departs from protobuf-es on purpose: for the
 * key "__proto__" protobuf-es assigns, which sets the object's prototype and loses the entry
 * without a word; here it becomes an own property, so that `validateResource` sees it and
 * refuses the resource with a clear error (storage cannot keep such a key anywhere).
 */
function setEntry(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    map[key] = value;
  }
}

const readResource: Read = (r, end) => {
  const metadata: Record<string, unknown> = {};
  const status: Record<string, unknown> = {};
  const m: Fields = {
    $typeName: ResourceSchema.typeName,
    version: "",
    generation: "",
    metadata,
    status,
  };
  readFields(r, end, (n, wt) => {
    switch (n) {
      case 1:
        m.id = nested(r, end, wt, m.id, readId);
        break;
      case 2:
        m.owner = nested(r, end, wt, m.owner, readId);
        break;
      case 3:
        m.version = stringField(r, end, wt);
        break;
      case 4:
        m.generation = stringField(r, end, wt);
        break;
      case 5: {
        const [key, value] = mapEntry(r, end, wt, stringField);
        setEntry(metadata, key, value);
        break;
      }
      case 6: {
        const [key, value] = mapEntry(r, end, wt, (rr, stop, vwt) =>
          nested(rr, stop, vwt, undefined, readStatus),
        );
        setEntry(status, key, value);
        break;
      }
      case 7:
        m.data = nested(r, end, wt, m.data, readAny);
        break;
      default:
        throw notPlain;
    }
  });
  return m;
};

/** A message whose one field, number 1, is `read`'s message (a Resource, an ID). */
function oneField(typeName: string, name: string, read: Read): Read {
  return (r, end) => {
    const m: Fields = { $typeName: typeName };
    readFields(r, end, (n, wt) => {
      if (n !== 1) throw notPlain;
      m[name] = nested(r, end, wt, m[name], read);
    });
    return m;
  };
}

/** A message whose one field, number 1, is a list of `read`'s messages. */
function listOf(typeName: string, name: string, read: Read): Read {
  return (r, end) => {
    const list: Fields[] = [];
    readFields(r, end, (n, wt) => {
      if (n !== 1) throw notPlain;
      list.push(nested(r, end, wt, undefined, read));
    });
    return { $typeName: typeName, [name]: list };
  };
}

/** A message whose one field, number 1, is a list of resources. */
const resourceList = (typeName: string) => listOf(typeName, "resources", readResource);

/** The public API's read request: the id, and the consistency (an enum). */
const readReadRequest: Read = (r, end) => {
  const m: Fields = { $typeName: ReadRequestSchema.typeName, consistency: 0 };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.id = nested(r, end, wt, m.id, readId);
    else if (n === 2) m.consistency = int32Field(r, end, wt);
    else throw notPlain;
  });
  return m;
};

/** A delete (also a log entry's request): the id, the version, whether of the incarnation. */
const readDelete: Read = (r, end) => {
  const m: Fields = { $typeName: DeleteRequestSchema.typeName, version: "", incarnation: false };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.id = nested(r, end, wt, m.id, readId);
    else if (n === 2) m.version = stringField(r, end, wt);
    else if (n === 3) m.incarnation = flagField(r, end, wt);
    else throw notPlain;
  });
  return m;
};

/** A bool written as 0 or 1; any other value protobuf-es reads as true too, and is left to it. */
function flagField(r: Reader, end: number, wireType: number): boolean {
  const flag = int32Field(r, end, wireType);
  if (flag > 1) throw notPlain;
  return flag === 1;
}

/** A forwarded write (also a log entry's request): the resource, and whether to overwrite. */
const readForwardedWrite: Read = (r, end) => {
  const m: Fields = { $typeName: ForwardedWriteRequestSchema.typeName, overwrite: false };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.resource = nested(r, end, wt, m.resource, readResource);
    else if (n === 2) m.overwrite = flagField(r, end, wt);
    else throw notPlain;
  });
  return m;
};
const readForwardedRead = oneField(ForwardedReadRequestSchema.typeName, "id", readId);

/** A failed write's status in a forwarded batch: code, message, trailers, details. */
const readForwardedStatus: Read = (r, end) => {
  const metadata: Record<string, unknown> = {};
  const details: Fields[] = [];
  const m: Fields = {
    $typeName: ForwardedStatusSchema.typeName,
    code: 0,
    message: "",
    metadata,
    details,
  };
  readFields(r, end, (n, wt) => {
    if (n === 1) m.code = int32Field(r, end, wt);
    else if (n === 2) m.message = stringField(r, end, wt);
    else if (n === 3) {
      const [key, value] = mapEntry(r, end, wt, stringField);
      setEntry(metadata, key, value);
    } else if (n === 4) details.push(nested(r, end, wt, undefined, readAny));
    else throw notPlain;
  });
  return m;
};

/** One result of a forwarded batch of writes or reads: a resource or a failed call's status. */
const readResourceResult: Read = (r, end) => {
  const outcome: { case: string | undefined; value?: Fields } = { case: undefined };
  readFields(r, end, (n, wt) => {
    // The oneof set twice (merged, or replaced by the other case) is not plain.
    if (outcome.case !== undefined) throw notPlain;
    if (n === 1) {
      outcome.value = nested(r, end, wt, undefined, readResource);
      outcome.case = "resource";
    } else if (n === 2) {
      outcome.value = nested(r, end, wt, undefined, readForwardedStatus);
      outcome.case = "error";
    } else throw notPlain;
  });
  return { $typeName: ResourceResultSchema.typeName, outcome };
};

/** The cases of a log entry's request, by field number. */
const logRequests = new Map<number, [string, Read]>([
  [2, ["write", readForwardedWrite]],
  [3, ["delete", readDelete]],
  [4, ["overwrite", readForwardedWrite]],
  [5, ["deleteIncarnation", readDelete]],
]);

/**
 * The Raft log entry: its type, then a write, delete, overwrite or incarnation's delete (a oneof:
 * at most one, once).
 */
const readLog: Read = (r, end) => {
  const request: { case: string | undefined; value?: Fields } = { case: undefined };
  const m: Fields = { $typeName: LogSchema.typeName, type: 0, request };
  readFields(r, end, (n, wt) => {
    if (n === 1) {
      m.type = int32Field(r, end, wt);
      return;
    }
    const chosen = logRequests.get(n);
    if (chosen === undefined || request.case !== undefined) throw notPlain;
    request.value = nested(r, end, wt, undefined, chosen[1]);
    request.case = chosen[0];
  });
  return m;
};

/** The reader of a message whose one field, number 1, is a list of `item`, keyed by its name. */
function listEntry(schema: DescMessage, field: string, item: Read): [string, Read] {
  return [schema.typeName, listOf(schema.typeName, field, item)];
}

const readers = new Map<string, Read>([
  [ResourceSchema.typeName, readResource],
  [ReadRequestSchema.typeName, readReadRequest],
  [ForwardedReadRequestSchema.typeName, readForwardedRead],
  [DeleteRequestSchema.typeName, readDelete],
  [LogSchema.typeName, readLog],
  [ForwardedWriteRequestSchema.typeName, readForwardedWrite],
  ...oneResourceMessages.map((s): [string, Read] => [
    s.typeName,
    oneField(s.typeName, "resource", readResource),
  ]),
  ...resourceListMessages.map((s): [string, Read] => [s.typeName, resourceList(s.typeName)]),
  listEntry(WriteBatchRequestSchema, "writes", readForwardedWrite),
  listEntry(WriteBatchResponseSchema, "results", readResourceResult),
  listEntry(ReadBatchRequestSchema, "reads", readForwardedRead),
  listEntry(ReadBatchResponseSchema, "results", readResourceResult),
]);

/**
 * `fromBinary(schema, bytes)`, the same message, read by hand for resources and the messages
 * that carry them; every other schema, and any input outside the plain form, goes to
 * protobuf-es.
 */
export function fromBinaryFast<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
): MessageShape<Desc> {
  return (
    (decodePlain(schema, bytes) as MessageShape<Desc> | undefined) ?? fromBinary(schema, bytes)
  );
}

/**
 * `fromBinaryFast`, and whether the bytes held fields `schema` does not know, at any depth (a
 * message written by a newer version, whose meaning this one cannot tell). The hand reader
 * refuses unknown fields, so only a message it passes to protobuf-es is searched for them.
 */
export function fromBinaryKnowing<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
): { message: MessageShape<Desc>; unknownFields: boolean } {
  const plain = decodePlain(schema, bytes) as MessageShape<Desc> | undefined;
  if (plain !== undefined) return { message: plain, unknownFields: false };
  const message = fromBinary(schema, bytes);
  return { message, unknownFields: hasUnknownFields(message) };
}

/**
 * Whether a decoded message, or one nested in it, kept fields its schema does not know. Checked
 * on every write the resource service takes, so it allocates nothing.
 */
function hasUnknownFields(value: unknown): boolean {
  return visitUnknownFields(value, "", undefined);
}

/**
 * Where a decoded message, or one nested in it, kept fields its schema does not know (protobuf-es
 * keeps them, and writes them again): `"resource.id: field 99"` for each, `path` naming the
 * message itself. Empty when there are none.
 */
export function unknownFields(value: unknown, path: string): string[] {
  // The search that builds no paths first: nearly every message has none.
  if (!hasUnknownFields(value)) return [];
  const found: string[] = [];
  visitUnknownFields(value, path, found);
  return found;
}

/**
 * Whether `value` (at `path`), or anything in it, kept unknown fields. With `found`, every one is
 * listed there; without it, the walk stops at the first and builds no path.
 */
function visitUnknownFields(value: unknown, path: string, found: string[] | undefined): boolean {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return false;
  const message = value as Record<string, unknown> & { $unknown?: Array<{ no?: unknown }> };
  let any = false;
  const unknown = message.$unknown;
  if (unknown !== undefined && unknown.length > 0) {
    if (found === undefined) return true;
    for (const field of unknown) found.push(`${path || "the message"}: field ${String(field.no)}`);
    any = true;
  }
  for (const key in message) {
    const child = message[key];
    if (key === "$unknown" || typeof child !== "object" || child === null) continue;
    // A oneof's { case, value } is not a level of its own.
    const childPath =
      found === undefined || (key === "value" && "case" in message)
        ? path
        : path
          ? `${path}.${key}`
          : key;
    if (visitUnknownFields(child, childPath, found)) {
      if (found === undefined) return true;
      any = true;
    }
  }
  return any;
}

/**
 * The hand-read message, or undefined when this module does not read it (a schema it does not
 * know, input outside the plain form). Exported for the tests.
 */
export function decodePlain(schema: DescMessage, bytes: Uint8Array): Fields | undefined {
  const read = readers.get(schema.typeName);
  if (read === undefined) return undefined;
  try {
    return read(new Reader(bytes), bytes.byteLength);
  } catch {
    // Not plain, or not protobuf at all: protobuf-es reads it, or says what is wrong.
    return undefined;
  }
}
