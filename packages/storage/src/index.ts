// The storage contract. Symbols below are what every backend implements and every caller uses.
export {
  type Backend,
  type CallOptions,
  canDeleteIncarnation,
  canOverwrite,
  type IncarnationDeletingBackend,
  type OverwritingBackend,
  ReadConsistency,
  type UnversionedType,
  type Watch,
  Wildcard,
} from "./backend.js";
export {
  CASFailureError,
  findStorageError,
  GroupVersionMismatchError,
  InconsistentError,
  InvalidArgumentError,
  isCASFailureError,
  isGroupVersionMismatchError,
  isInconsistentError,
  isInvalidArgumentError,
  isNotFoundError,
  isQuotaExceededError,
  isWatchClosedError,
  isWrongUidError,
  NotFoundError,
  QuotaExceededError,
  type StorageErrorName,
  WatchClosedError,
  WrongUidError,
} from "./errors.js";

// Helpers for backend implementations: keys, query matching and input validation.
export {
  listPrefix,
  matchesQuery,
  ownerKey,
  resourceKey,
  unversionedType,
  unversionedTypeString,
} from "./key.js";
export { checkOverwrite, sameOwner, sameStatus } from "./overwrite.js";
export { keepProtoMapKeys } from "./proto-map-keys.js";
// Resources and the messages that carry them, written to and read from protobuf binary by hand
// (the same bytes and messages as protobuf-es's toBinary and fromBinary, several times faster).
export {
  type AllocateBytes,
  resourceBinarySize,
  toBinaryFast,
  toBinaryKnown,
} from "./resource-binary.js";
export { fromBinaryFast, fromBinaryKnowing, unknownFields } from "./resource-binary-read.js";
export {
  hasIdShape,
  type ValidID,
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
  validateTenancy,
  validateType,
  validateVersion,
} from "./validate.js";
export { WatchQueue, type WatchQueueOptions } from "./watch-queue.js";
