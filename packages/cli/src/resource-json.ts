import {
  create,
  createRegistry,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import {
  type Any,
  AnySchema,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import {
  file_raftstore_resource_v1_resource,
  type Resource,
  ResourceSchema,
  type WatchEvent,
} from "@raftstore/proto";
import { keepProtoMapKeys } from "@raftstore/storage";
import { InvalidInputError } from "./errors.js";

// Resources in and out as the protobuf JSON of their messages (the Connect protocol's JSON, so
// what `raftstore read` prints is what curl gets). One gap of protobuf JSON matters here: a
// resource's `data` is a google.protobuf.Any, and JSON can spell an Any only when its message
// type is known. The CLI knows the well-known types (Struct, StringValue, …) and raftstore's
// own; payloads of any other type print as their protobuf bytes,
// `{"@type": "type.googleapis.com/acme.v1.Album", "@bytes": "<base64>"}`, and are accepted back
// in that form, so read → edit → write never loses a payload it cannot decode.

/** The key that carries an undecodable Any's bytes (base64 of the protobuf encoding). */
export const RAW_ANY_BYTES_KEY = "@bytes";

/** The message types the CLI can spell in JSON inside an Any. */
export const knownTypes: Registry = createRegistry(
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  file_raftstore_resource_v1_resource,
);

function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

function isKnown(any: Any): boolean {
  return knownTypes.getMessage(typeNameOf(any.typeUrl)) !== undefined;
}

/** A resource as protobuf JSON, with an Any of an unknown type as its bytes. */
export function resourceToJson(resource: Resource): JsonObject {
  const data = resource.data;
  if (data === undefined || isKnown(data)) {
    return toJson(ResourceSchema, resource, { registry: knownTypes }) as JsonObject;
  }
  const json = toJson(
    ResourceSchema,
    { ...resource, data: undefined },
    {
      registry: knownTypes,
    },
  ) as JsonObject;
  json.data = { "@type": data.typeUrl, [RAW_ANY_BYTES_KEY]: base64Encode(data.value) };
  return json;
}

/** A watch event as protobuf JSON: `{"upsert":{"resource":…}}`, `{"endOfSnapshot":{}}`, … */
export function watchEventToJson(event: WatchEvent): JsonObject {
  switch (event.event.case) {
    case "upsert":
    case "delete": {
      const resource = event.event.value.resource;
      return {
        [event.event.case]: resource === undefined ? {} : { resource: resourceToJson(resource) },
      };
    }
    case "endOfSnapshot":
      return { endOfSnapshot: {} };
    default:
      return {};
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses JSON text; `source` names where it came from ("--file artist.json"). */
export function parseJsonText(text: string, source: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new InvalidInputError(`${source} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A message of `schema` from its protobuf JSON; errors name `source` and the problem. */
export function messageFromJson<Desc extends DescMessage>(
  schema: Desc,
  json: JsonValue,
  source: string,
): MessageShape<Desc> {
  // Without it protobuf-es drops a map entry keyed "__proto__", and the write would succeed
  // without it; kept, the server refuses the resource and says why.
  keepProtoMapKeys();
  try {
    return fromJson(schema, json, { registry: knownTypes });
  } catch (error) {
    throw new InvalidInputError(
      `${source} does not describe a ${schema.typeName}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A resource from its protobuf JSON, accepting an Any of an unknown type as its bytes. */
export function resourceFromJson(json: JsonValue, source: string): Resource {
  if (!isObject(json)) {
    throw new InvalidInputError(`${source} must hold a JSON object (a resource)`);
  }
  const data = json.data;
  if (!isObject(data) || !(RAW_ANY_BYTES_KEY in data)) {
    return messageFromJson(ResourceSchema, json, source);
  }
  const typeUrl = data["@type"];
  const bytes = data[RAW_ANY_BYTES_KEY];
  const extra = Object.keys(data).filter((k) => k !== "@type" && k !== RAW_ANY_BYTES_KEY);
  if (typeof typeUrl !== "string" || typeof bytes !== "string" || extra.length > 0) {
    throw new InvalidInputError(
      `${source}: data with "${RAW_ANY_BYTES_KEY}" must be {"@type": "<type URL>", "${RAW_ANY_BYTES_KEY}": "<base64>"} and nothing else`,
    );
  }
  let value: Uint8Array;
  try {
    value = base64Decode(bytes);
  } catch (error) {
    throw new InvalidInputError(`${source}: data.${RAW_ANY_BYTES_KEY} is not base64`, {
      cause: error,
    });
  }
  const { data: _raw, ...rest } = json;
  const resource = messageFromJson(ResourceSchema, rest, source);
  resource.data = create(AnySchema, { typeUrl, value });
  return resource;
}
