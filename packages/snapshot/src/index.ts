// The snapshot codec: a streaming, checksummed, versioned file format for a point-in-time set
// of resources. Symbols below are what writers, restorers and tools use.

export {
  type DecodeSnapshotOptions,
  decodeRawSnapshot,
  decodeSnapshot,
  type RawSnapshotReader,
  type SnapshotReader,
} from "./decode.js";
export { type EncodeSnapshotOptions, encodeRawSnapshot, encodeSnapshot } from "./encode.js";
export {
  isSnapshotFormatError,
  isSnapshotResourceTooLargeError,
  type SnapshotDamage,
  SnapshotFormatError,
  SnapshotResourceTooLargeError,
} from "./errors.js";
export {
  type ReadSnapshotFileOptions,
  readSnapshotFile,
  type WriteSnapshotFileOptions,
  writeSnapshotFile,
} from "./file.js";
// The format's constants, for tools that look at the bytes themselves.
export {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  FORMAT_VERSION,
  MAGIC,
  MAX_FRAME_BYTES_LIMIT,
} from "./format.js";
export type { SnapshotHeader, SnapshotHeaderInit } from "./header.js";
export { inspectSnapshot, type SnapshotInfo } from "./inspect.js";
export type { SnapshotInput, SnapshotReaderOf } from "./snapshot-reader.js";
