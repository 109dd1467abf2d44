import type { DescMessage } from "@bufbuild/protobuf";
import {
  ListByOwnerResponseSchema,
  ReadResponseSchema,
  ListResponseSchema as ResourceListResponseSchema,
  WriteRequestSchema as ResourceWriteRequestSchema,
  WriteResponseSchema as ResourceWriteResponseSchema,
} from "@raftstore/proto";
import {
  ListResponseSchema as ForwardedListResponseSchema,
  ReadResponseSchema as ForwardedReadResponseSchema,
  WriteResponseSchema as ForwardedWriteResponseSchema,
} from "@raftstore/proto/storage/v1";

// The messages of the resource and forwarding services that only carry resources, in the two
// shapes the hand-written writer (resource-binary.ts) and reader (resource-binary-read.ts)
// both take.

/** Messages whose one field, number 1, is a Resource. */
export const oneResourceMessages: readonly DescMessage[] = [
  ReadResponseSchema,
  ResourceWriteRequestSchema,
  ResourceWriteResponseSchema,
  ForwardedReadResponseSchema,
  ForwardedWriteResponseSchema,
];

/** Messages whose one field, number 1, is a list of resources. */
export const resourceListMessages: readonly DescMessage[] = [
  ResourceListResponseSchema,
  ListByOwnerResponseSchema,
  ForwardedListResponseSchema,
];
