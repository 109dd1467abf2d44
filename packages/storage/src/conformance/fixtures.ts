import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
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
import type { UnversionedType } from "../backend.js";

// The fixtures of Consul's conformance suite, under the same names, so that a failure here can
// be compared with the original case by case.

export const typeAv1: Type = create(TypeSchema, { group: "test", groupVersion: "v1", kind: "a" });
export const typeAv2: Type = create(TypeSchema, { group: "test", groupVersion: "v2", kind: "a" });
export const typeB: Type = create(TypeSchema, { group: "test", groupVersion: "v1", kind: "b" });

export const tenancyDefault: Tenancy = create(TenancySchema, {
  partition: "default",
  namespace: "default",
});
export const tenancyDefaultOtherNamespace: Tenancy = create(TenancySchema, {
  partition: "default",
  namespace: "other",
});
export const tenancyOther: Tenancy = create(TenancySchema, {
  partition: "billing",
  namespace: "payments",
});

/** A fresh resource with uid "a" and no version, data, metadata or owner. */
export function resource(
  type: Type,
  tenancy: Tenancy,
  name: string,
  init?: MessageInitShape<typeof ResourceSchema>,
): Resource {
  const res = create(ResourceSchema, init);
  res.id = create(IDSchema, { type, tenancy, name, uid: "a" });
  return res;
}

/** A copy of `id` with some fields replaced; the original is never changed. */
export function withId(id: ID | undefined, change: Partial<Omit<ID, "$typeName">>): ID {
  return Object.assign(id === undefined ? create(IDSchema) : clone(IDSchema, id), change);
}

/** A copy of `res` with some fields replaced; the original is never changed. */
export function withResource(
  res: Resource,
  change: Partial<Omit<Resource, "$typeName">>,
): Resource {
  return Object.assign(clone(ResourceSchema, res), change);
}

/** The seed resources, always written in this order, each as a create. */
export function seeds(): Resource[] {
  return [
    resource(typeAv1, tenancyDefault, "admin"),
    resource(typeAv1, tenancyDefault, "api"),
    resource(typeAv2, tenancyDefault, "web"),
    resource(typeAv1, tenancyOther, "api"),
    resource(typeB, tenancyDefault, "admin"),
    resource(typeAv1, tenancyDefaultOtherNamespace, "autoscaler"),
  ];
}

export interface ListCase {
  name: string;
  type: UnversionedType;
  tenancy: Tenancy;
  namePrefix: string;
  /** Indexes into `seeds()`. */
  expected: number[];
}

const typeA: UnversionedType = { group: "test", kind: "a" };

function tenancy(partition: string, namespace: string): Tenancy {
  return create(TenancySchema, { partition, namespace });
}

/** The seven list and watch cases. */
export const listCases: ListCase[] = [
  {
    name: "simple #1",
    type: typeA,
    tenancy: tenancyDefault,
    namePrefix: "",
    expected: [0, 1, 2],
  },
  { name: "simple #2", type: typeA, tenancy: tenancyOther, namePrefix: "", expected: [3] },
  {
    name: "fixed tenancy, name prefix",
    type: typeA,
    tenancy: tenancyDefault,
    namePrefix: "a",
    expected: [0, 1],
  },
  {
    name: "wildcard tenancy",
    type: typeA,
    tenancy: tenancy("*", "*"),
    namePrefix: "",
    expected: [0, 1, 2, 3, 5],
  },
  {
    name: "fixed partition, wildcard namespace",
    type: typeA,
    tenancy: tenancy("default", "*"),
    namePrefix: "",
    expected: [0, 1, 2, 5],
  },
  {
    name: "wildcard partition, fixed namespace",
    type: typeA,
    tenancy: tenancy("*", "default"),
    namePrefix: "",
    expected: [0, 1, 2],
  },
  {
    name: "wildcard tenancy, name prefix",
    type: typeA,
    tenancy: tenancy("*", "*"),
    namePrefix: "a",
    expected: [0, 1, 3, 5],
  },
];
