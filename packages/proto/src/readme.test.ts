import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ResourceSchema } from "./index.js";

describe("the README example", () => {
  it("builds and encodes a resource", () => {
    const resource = create(ResourceSchema, {
      id: { name: "web", type: { group: "demo", groupVersion: "v1", kind: "Artist" } },
    });
    const bytes = toBinary(ResourceSchema, resource);

    expect(fromBinary(ResourceSchema, bytes).id?.type?.kind).toBe("Artist");
  });
});
