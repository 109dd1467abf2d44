import {
  type Resource,
  type WatchEvent,
  WatchEvent_DeleteSchema,
  WatchEvent_EndOfSnapshotSchema,
  WatchEvent_UpsertSchema,
  WatchEventSchema,
} from "@raftstore/proto";

// Watch events are frozen like the records they carry: one event object is shared by every
// watch that receives it, so no consumer may change what another one sees. They are built as
// literals of the shape protobuf-es gives these messages (not with `create`, which would walk
// the schema, nor with a spread, which would give every event a hidden class of its own).

const EVENT = WatchEventSchema.typeName;
const UPSERT = WatchEvent_UpsertSchema.typeName;
const DELETE = WatchEvent_DeleteSchema.typeName;

/** The one end-of-snapshot event, shared by every watch. */
export const endOfSnapshotEvent: WatchEvent = Object.freeze({
  $typeName: EVENT,
  event: Object.freeze({
    case: "endOfSnapshot" as const,
    value: Object.freeze({ $typeName: WatchEvent_EndOfSnapshotSchema.typeName }),
  }),
});

/** A frozen upsert event for a record (which is frozen already). */
export function upsertEvent(record: Resource): WatchEvent {
  return Object.freeze({
    $typeName: EVENT,
    event: Object.freeze({
      case: "upsert" as const,
      value: Object.freeze({ $typeName: UPSERT, resource: record }),
    }),
  });
}

/** A frozen delete event carrying the record as it was stored just before the delete. */
export function deleteEvent(record: Resource): WatchEvent {
  return Object.freeze({
    $typeName: EVENT,
    event: Object.freeze({
      case: "delete" as const,
      value: Object.freeze({ $typeName: DELETE, resource: record }),
    }),
  });
}
