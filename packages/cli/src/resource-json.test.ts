import { create, fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { anyPack, StringValueSchema, StructSchema } from "@bufbuild/protobuf/wkt";
import { ResourceSchema, TypeSchema, WatchEventSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { isInvalidInputError } from "./errors.js";
import {
  parseJsonText,
  RAW_ANY_BYTES_KEY,
  resourceFromJson,
  resourceToJson,
  watchEventToJson,
} from "./resource-json.js";

const id = {
  name: "web",
  type: { group: "demo", groupVersion: "v1", kind: "Artist" },
  tenancy: { partition: "default", namespace: "default" },
};

describe("resources as JSON", () => {
  it("prints the protobuf JSON of a resource, payloads of well-known types spelt out", () => {
    const resource = create(ResourceSchema, {
      id,
      version: "7",
      metadata: { genre: "jazz" },
      data: anyPack(StructSchema, fromJson(StructSchema, { albums: 3 })),
    });
    expect(resourceToJson(resource)).toEqual({
      id,
      version: "7",
      metadata: { genre: "jazz" },
      data: { "@type": "type.googleapis.com/google.protobuf.Struct", value: { albums: 3 } },
    });
  });

  it('keeps a metadata key "__proto__", for the server to refuse rather than lose', () => {
    const json = parseJsonText(
      `{"id":${JSON.stringify(id)},"metadata":{"__proto__":"x","genre":"jazz"}}`,
      "--file r.json",
    );
    const resource = resourceFromJson(json, "--file r.json");
    expect(Object.keys(resource.metadata)).toEqual(["__proto__", "genre"]);
  });

  it("reads back what it prints, for known and unknown payload types alike", () => {
    const known = create(ResourceSchema, {
      id,
      data: anyPack(StringValueSchema, create(StringValueSchema, { value: "hi" })),
    });
    const unknown = create(ResourceSchema, {
      id,
      data: {
        typeUrl: "type.googleapis.com/acme.v1.Album",
        value: toBinary(TypeSchema, create(TypeSchema, { group: "g" })),
      },
    });
    for (const resource of [known, unknown]) {
      const json = JSON.parse(JSON.stringify(resourceToJson(resource)));
      expect(resourceFromJson(json, "test")).toEqual(resource);
    }
  });

  it("shows a payload of an unknown type as its bytes rather than failing", () => {
    const resource = create(ResourceSchema, {
      id,
      data: { typeUrl: "type.googleapis.com/acme.v1.Album", value: new Uint8Array([1, 2, 3]) },
    });
    expect(resourceToJson(resource).data).toEqual({
      "@type": "type.googleapis.com/acme.v1.Album",
      [RAW_ANY_BYTES_KEY]: "AQID",
    });
  });

  it("rejects a raw payload with extra keys or bad base64, saying what the form is", () => {
    const bad: JsonObject[] = [
      { "@type": "type.googleapis.com/x.Y", [RAW_ANY_BYTES_KEY]: "AQID", value: 1 },
      { [RAW_ANY_BYTES_KEY]: "AQID" },
      { "@type": "type.googleapis.com/x.Y", [RAW_ANY_BYTES_KEY]: "%%%" },
    ];
    for (const data of bad) {
      let caught: unknown;
      try {
        resourceFromJson({ id, data }, "--file a.json");
      } catch (error) {
        caught = error;
      }
      expect(isInvalidInputError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(/^--file a.json: data/);
    }
  });

  it("rejects what is not a resource, naming the source", () => {
    expect(() => resourceFromJson([1, 2], "stdin")).toThrow("stdin must hold a JSON object");
    expect(() => resourceFromJson({ id: { nmae: "x" } }, "stdin")).toThrow(
      /^stdin does not describe a raftstore.resource.v1.Resource: .*nmae/,
    );
    expect(() => parseJsonText("{", "the JSON argument")).toThrow(
      /^the JSON argument is not valid JSON/,
    );
  });

  it("prints watch events as their oneof case", () => {
    const resource = create(ResourceSchema, { id, version: "3" });
    const upsert = create(WatchEventSchema, { event: { case: "upsert", value: { resource } } });
    const gone = create(WatchEventSchema, { event: { case: "delete", value: { resource } } });
    const end = create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } });
    expect(watchEventToJson(upsert)).toEqual({ upsert: { resource: { id, version: "3" } } });
    expect(watchEventToJson(gone)).toEqual({ delete: { resource: { id, version: "3" } } });
    expect(watchEventToJson(end)).toEqual({ endOfSnapshot: {} });
  });
});
