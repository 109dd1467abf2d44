import { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { isInvalidArgumentError } from "./errors.js";
import { keepProtoMapKeys } from "./proto-map-keys.js";
import { toBinaryFast } from "./resource-binary.js";
import { validateResource } from "./validate.js";

const id = {
  name: "a",
  type: { group: "demo", groupVersion: "v1", kind: "Artist" },
  tenancy: { partition: "default", namespace: "default" },
};
// JSON.parse makes "__proto__" an own key, as a request body's parse does; an object literal
// would set the prototype instead.
const body = (maps: string) => ({ id, ...JSON.parse(maps) });
const withProtoKey = () => {
  const resource = create(ResourceSchema, { id });
  resource.metadata = JSON.parse('{"__proto__":"x","team":"storage"}');
  return resource;
};

describe("keepProtoMapKeys", () => {
  // Runs first: the module-wide patch is not installed yet.
  it("is needed: protobuf-es alone drops a map entry keyed __proto__", () => {
    const decoded = fromJson(
      ResourceSchema,
      body('{"metadata":{"__proto__":"x","team":"storage"}}'),
    );
    expect(Object.keys(decoded.metadata)).toEqual(["team"]);
    expect(() => validateResource(decoded)).not.toThrow();
  });

  it("keeps the entry in fromJson, fromBinary and create, so validation refuses it", () => {
    keepProtoMapKeys();
    keepProtoMapKeys(); // idempotent: a second call wraps nothing again
    const fromText = fromJson(
      ResourceSchema,
      body(
        '{"metadata":{"__proto__":"x","team":"storage"},"status":{"__proto__":{"observedGeneration":"01J00000000000000000000001"}}}',
      ),
    );
    expect(Object.keys(fromText.metadata)).toEqual(["__proto__", "team"]);
    expect(Object.getOwnPropertyDescriptor(fromText.metadata, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(fromText.metadata)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(fromText.status, "__proto__")?.value).toMatchObject({
      observedGeneration: "01J00000000000000000000001",
    });
    expect(Object.getPrototypeOf(fromText.status)).toBe(Object.prototype);

    const bytes = toBinaryFast(ResourceSchema, withProtoKey());
    const fromBytes = fromBinary(ResourceSchema, bytes);
    expect(Object.keys(fromBytes.metadata)).toEqual(["__proto__", "team"]);
    expect(toBinary(ResourceSchema, fromBytes)).toEqual(bytes);

    const created = create(ResourceSchema, { id, metadata: withProtoKey().metadata });
    expect(Object.keys(created.metadata)).toEqual(["__proto__", "team"]);

    for (const resource of [fromText, fromBytes, created]) {
      let error: unknown;
      try {
        validateResource(resource);
      } catch (e) {
        error = e;
      }
      expect(isInvalidArgumentError(error)).toBe(true);
      expect((error as Error).message).toMatch(/metadata cannot have the key "__proto__"/);
    }
  });

  it("leaves every other key on protobuf-es's own path, checks included", () => {
    keepProtoMapKeys();
    const decoded = fromJson(ResourceSchema, body('{"metadata":{"a":"1","b":"2"}}'));
    expect(decoded.metadata).toEqual({ a: "1", b: "2" });
    expect(() => fromJson(ResourceSchema, body('{"metadata":{"a":1}}'))).toThrow();
    // The key's value is still checked by protobuf-es.
    expect(() => fromJson(ResourceSchema, body('{"metadata":{"__proto__":7}}'))).toThrow();
  });
});
