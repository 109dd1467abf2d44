import { create } from "@bufbuild/protobuf";
import {
  type ID,
  IDSchema,
  type Tenancy,
  TenancySchema,
  type Type,
  TypeSchema,
} from "@raftstore/proto";
import { UsageError } from "./errors.js";

// How commands name resources, the same way everywhere: a type written group.groupVersion.kind
// (as Consul's `consul resource read catalog.v2beta1.Service web` does), a name, and the
// tenancy as --partition and --namespace (both "default" unless given).

/** The tenancy of a command that names one resource, and of List/Watch queries. */
export const DEFAULT_TENANCY = "default";

/** The flags that place a resource, as commander parses them. */
export interface TenancyFlags {
  partition?: string;
  namespace?: string;
}

/**
 * Parses `group.groupVersion.kind` (e.g. `demo.v1.Artist`). None of the three parts may contain
 * a dot (the resource service accepts identifiers only), so the split is unambiguous.
 */
export function parseType(text: string): Type {
  const parts = text.split(".");
  if (parts.length !== 3 || parts.some((part) => part === "")) {
    throw new UsageError(
      `expected a type as group.groupVersion.kind (e.g. demo.v1.Artist), got ${JSON.stringify(text)}`,
    );
  }
  const [group, groupVersion, kind] = parts as [string, string, string];
  return create(TypeSchema, { group, groupVersion, kind });
}

/** `demo.v1.Artist`, the form parseType reads. */
export function formatType(type: Type | undefined): string {
  return `${type?.group ?? ""}.${type?.groupVersion ?? ""}.${type?.kind ?? ""}`;
}

/** The tenancy named by the flags, each field "default" unless given. */
export function tenancyFrom(flags: TenancyFlags): Tenancy {
  return create(TenancySchema, {
    partition: flags.partition ?? DEFAULT_TENANCY,
    namespace: flags.namespace ?? DEFAULT_TENANCY,
  });
}

/** The id named by a TYPE and NAME argument and the tenancy flags; `uid` "" matches any. */
export function resourceId(
  typeText: string,
  name: string,
  flags: TenancyFlags & { uid?: string },
): ID {
  if (name === "") throw new UsageError("expected a resource name, got an empty string");
  return create(IDSchema, {
    type: parseType(typeText),
    name,
    tenancy: tenancyFrom(flags),
    uid: flags.uid ?? "",
  });
}

/** `demo.v1.Artist "web" in default/default`, for messages. */
export function describeId(id: ID | undefined): string {
  const tenancy = `${id?.tenancy?.partition || DEFAULT_TENANCY}/${id?.tenancy?.namespace || DEFAULT_TENANCY}`;
  return `${formatType(id?.type)} ${JSON.stringify(id?.name ?? "")} in ${tenancy}`;
}
