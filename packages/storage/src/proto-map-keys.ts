import type { DescField } from "@bufbuild/protobuf";
import { reflectMap } from "@bufbuild/protobuf/reflect";
import { ResourceSchema } from "@raftstore/proto";

// protobuf-es reads a map field into a plain object and adds each entry by assignment, so an
// entry with the key "__proto__" sets the object's prototype (or, for a string value, does
// nothing) and disappears without a word. Our own binary reader keeps such a key as an own
// property (resource-binary-read.ts), so that validateResource can refuse it; every other decoder
// of the process (fromJson for Connect JSON, fromBinary for gRPC-Web and the Connect protocol,
// the CLI's JSON input) goes through protobuf-es and would store the resource without the entry.

interface MapImpl {
  obj: Record<string, unknown>;
  set(key: unknown, value: unknown): MapImpl;
}

let installed = false;

/**
 * Makes protobuf-es keep a map entry whose key is "__proto__" as an own property of the map
 * object, as our binary reader does, in every decoder of this process (fromBinary, fromJson,
 * create), so that validation sees the key and refuses the resource with InvalidArgumentError
 * instead of storing it without the entry. Idempotent; call it once at startup of anything that
 * decodes resources with protobuf-es.
 *
 * It wraps the `set` of protobuf-es's map reflection (@bufbuild/protobuf 2.13.0, pinned): the
 * entry is checked and converted by protobuf-es itself, into an object without a prototype,
 * then defined on the map. Every other key takes protobuf-es's own path unchanged.
 */
export function keepProtoMapKeys(): void {
  if (installed) return;
  const field = ResourceSchema.fields.find((f) => f.fieldKind === "map") as DescField & {
    fieldKind: "map";
  };
  const sample = reflectMap(field, {});
  const impl = Object.getPrototypeOf(sample) as MapImpl;
  const set = impl.set;
  if (typeof set !== "function" || !("obj" in sample)) {
    throw new Error("@bufbuild/protobuf's map reflection is not the shape keepProtoMapKeys knows");
  }
  impl.set = function (this: MapImpl, key: unknown, value: unknown): MapImpl {
    if (key !== "__proto__") return set.call(this, key, value);
    const target = this.obj;
    const converted: Record<string, unknown> = Object.create(null);
    this.obj = converted;
    try {
      set.call(this, key, value);
    } finally {
      this.obj = target;
    }
    Object.defineProperty(target, key, {
      value: converted[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return this;
  };
  installed = true;
}
