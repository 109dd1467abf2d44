import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type ID,
  IDSchema,
  type Resource,
  ResourceSchema,
  type Tenancy,
  TenancySchema,
  type Type,
  TypeSchema,
  type WatchEvent,
} from "@raftstore/proto";
import type { UnversionedType } from "@raftstore/storage";

// Fixtures shared by the tests and the benchmarks.

export const artistV1: Type = create(TypeSchema, {
  group: "demo",
  groupVersion: "v1",
  kind: "Artist",
});
export const artistV2: Type = create(TypeSchema, {
  group: "demo",
  groupVersion: "v2",
  kind: "Artist",
});
export const album: Type = create(TypeSchema, { group: "demo", groupVersion: "v1", kind: "Album" });
export const artist: UnversionedType = { group: "demo", kind: "Artist" };

export function tenancy(partition: string, namespace: string): Tenancy {
  return create(TenancySchema, { partition, namespace });
}

export const defaultTenancy: Tenancy = tenancy("default", "default");
export const everywhere: Tenancy = tenancy("*", "*");

/** An id of `type` in `tenancy` (default/default unless given), with uid "u1" unless given. */
export function idOf(
  name: string,
  options: { type?: Type; tenancy?: Tenancy; uid?: string } = {},
): ID {
  return create(IDSchema, {
    uid: options.uid ?? "u1",
    name,
    type: options.type ?? artistV1,
    tenancy: options.tenancy ?? defaultTenancy,
  });
}

/** A new resource (version "" — a create) named `name`, with `init` merged in. */
export function resource(
  name: string,
  init: MessageInitShape<typeof ResourceSchema> & {
    type?: Type;
    tenancy?: Tenancy;
    uid?: string;
  } = {},
): Resource {
  const { type, tenancy: inTenancy, uid, ...rest } = init;
  return create(ResourceSchema, {
    id: idOf(name, { type, tenancy: inTenancy, uid }),
    ...rest,
  });
}

/**
 * A small, realistic resource: a ULID-sized uid and generation, one label and 32 bytes of data
 * in an Any. `i` makes it distinct; names sort in the order of `i`.
 */
export function smallResource(i: number, namespace = "default"): Resource {
  const payload = new Uint8Array(32);
  for (let b = 0; b < payload.length; b++) payload[b] = (i * 31 + b) & 0xff;
  return create(ResourceSchema, {
    id: {
      uid: `01J${String(i).padStart(23, "0")}`,
      name: `artist-${String(i).padStart(7, "0")}`,
      type: artistV1,
      tenancy: { partition: "default", namespace },
    },
    generation: `01K${String(i).padStart(23, "0")}`,
    metadata: { label: "blue" },
    data: { typeUrl: "type.googleapis.com/demo.v1.Artist", value: payload },
  });
}

/** The kind of a watch event and the name of its resource, for compact assertions. */
export function describeEvent(event: WatchEvent): string {
  const e = event.event;
  if (e.case === "upsert" || e.case === "delete") {
    return `${e.case} ${e.value.resource?.id?.name}@${e.value.resource?.version}`;
  }
  return String(e.case);
}
