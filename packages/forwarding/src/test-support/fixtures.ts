import { create } from "@bufbuild/protobuf";
import {
  type ID,
  IDSchema,
  type Resource,
  ResourceSchema,
  type Tenancy,
  TenancySchema,
  type Type,
  TypeSchema,
} from "@raftstore/proto";

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
export const defaultTenancy: Tenancy = create(TenancySchema, {
  partition: "default",
  namespace: "default",
});

/** An id of the given name (uid "u1", type artistV1 unless given). */
export function idOf(name: string, type: Type = artistV1, uid = "u1"): ID {
  return create(IDSchema, { name, uid, type, tenancy: defaultTenancy });
}

/** A resource to create (no version) with the given name. */
export function newResource(name: string, type: Type = artistV1): Resource {
  return create(ResourceSchema, { id: idOf(name, type), metadata: { team: "core" } });
}
