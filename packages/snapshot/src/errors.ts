// Errors of the snapshot codec. Each has a stable `name`, and its guard checks that name rather
// than `instanceof`, so guards keep working across duplicate copies of this package (one loaded
// from source and one from dist, or two versions side by side).

/**
 * What is wrong with a snapshot, one value per kind of damage. Stable: callers may switch on it.
 *
 * - `bad-magic`: the input does not start with the snapshot signature (not a snapshot at all).
 * - `unsupported-version`: a snapshot of a format version this build cannot read.
 * - `header-checksum`: the header's bytes do not match the header's checksum.
 * - `invalid-header`: a header with a correct checksum holds a value no writer writes.
 * - `truncated`: the input ended before the snapshot did (no trailer, or a cut frame).
 * - `frame-too-large`: a frame declares more bytes than the reader's `maxFrameBytes`.
 * - `frame-checksum`: a frame's bytes do not match the frame's checksum.
 * - `invalid-resource`: a frame with a correct checksum holds bytes that are not a Resource.
 * - `count-mismatch`: the trailer's resource count differs from the number of frames read.
 * - `snapshot-checksum`: the bytes before the trailer's checksum do not match it.
 * - `trailing-bytes`: bytes follow the trailer.
 */
export type SnapshotDamage =
  | "bad-magic"
  | "unsupported-version"
  | "header-checksum"
  | "invalid-header"
  | "truncated"
  | "frame-too-large"
  | "frame-checksum"
  | "invalid-resource"
  | "count-mismatch"
  | "snapshot-checksum"
  | "trailing-bytes";

/**
 * The input is not an intact snapshot. Thrown by every reader of snapshots (decode, inspect)
 * for any damage at all; the reader has then handed out no "complete" result, so a restore that
 * sees this error must be aborted. Nothing about the input is trusted beyond `offset`.
 */
export class SnapshotFormatError extends Error {
  override readonly name = "SnapshotFormatError";
  /** The byte offset in the snapshot of the field or frame where the damage was found. */
  readonly offset: number;
  /** What kind of damage it is. */
  readonly reason: SnapshotDamage;

  /** `detail` says what was expected there and what was found. */
  constructor(reason: SnapshotDamage, offset: number, detail: string, options?: ErrorOptions) {
    super(`snapshot damaged at byte ${offset} (${reason}): ${detail}`, options);
    this.reason = reason;
    this.offset = offset;
  }
}

/** Whether `error` is a SnapshotFormatError (of any copy of this package). */
export function isSnapshotFormatError(error: unknown): error is SnapshotFormatError {
  return error instanceof Error && error.name === "SnapshotFormatError";
}

/**
 * A resource to be written encodes to more bytes than the writer's `maxFrameBytes`. The
 * snapshot is abandoned before its trailer, so the partial output can never be read back as a
 * snapshot. Raise `maxFrameBytes` (and the readers' limit with it) or shrink the resource.
 */
export class SnapshotResourceTooLargeError extends Error {
  override readonly name = "SnapshotResourceTooLargeError";
  /** The resource's position in the input, counting from 0. */
  readonly position: number;
  /** Its encoded size. */
  readonly resourceBytes: number;
  /** The limit it exceeds. */
  readonly maxFrameBytes: number;

  constructor(position: number, resourceBytes: number, maxFrameBytes: number) {
    super(
      `resource #${position} encodes to ${resourceBytes} bytes, ` +
        `expected at most maxFrameBytes=${maxFrameBytes}`,
    );
    this.position = position;
    this.resourceBytes = resourceBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/** Whether `error` is a SnapshotResourceTooLargeError (of any copy of this package). */
export function isSnapshotResourceTooLargeError(
  error: unknown,
): error is SnapshotResourceTooLargeError {
  return error instanceof Error && error.name === "SnapshotResourceTooLargeError";
}
