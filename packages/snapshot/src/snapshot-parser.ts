import { frameChecksum } from "./checksum.js";
import { ChunkQueue } from "./chunk-queue.js";
import { SnapshotFormatError } from "./errors.js";
import { FRAME_OVERHEAD, HeaderLayout, TRAILER_MARKER, TrailerLayout } from "./format.js";
import { checkHeaderPrefix, decodeHeader, hex, type SnapshotHeader } from "./header.js";

/** One verified piece of a snapshot, in file order. */
export type SnapshotPart =
  | { kind: "header"; header: SnapshotHeader }
  /** A frame whose checksum matched; `payload` is the caller's to keep. */
  | { kind: "frame"; payload: Uint8Array; offset: number }
  /** The trailer, verified: the count matches and so does the checksum of the whole file. */
  | { kind: "end"; count: number };

type State = "header" | "frames" | "trailer" | "done";

/**
 * The byte-level reader of the format: a synchronous state machine with no I/O, fed chunks
 * with `push`, asked for the next verified part with `next`, and told with `end` that the
 * input is over. Any damage throws SnapshotFormatError, and the parser is then unusable.
 *
 * It hands out nothing it has not verified: the header after its checksum, a frame after its
 * checksum, the end after the count and the checksum over everything. It buffers at most one
 * frame (bounded by `maxFrameBytes`, checked before waiting for the frame's bytes) plus the
 * chunk that completes it.
 */
export class SnapshotParser {
  readonly #queue = new ChunkQueue();
  readonly #maxFrameBytes: number;
  #state: State = "header";
  // The length of the frame whose length field was read and whose bytes are awaited, or -1.
  #frameLength = -1;
  #frameOffset = 0;
  #count = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#queue.offset;
  }

  /** Adds input. After the trailer, any byte is an error. */
  push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    if (this.#state === "done") this.#checkNothingFollows();
  }

  /** The next verified part, or undefined when more input is needed first. */
  next(): SnapshotPart | undefined {
    const queue = this.#queue;
    switch (this.#state) {
      case "header": {
        if (queue.available < HeaderLayout.size) return undefined;
        const header = decodeHeader(queue.take(HeaderLayout.size));
        this.#state = "frames";
        return { kind: "header", header };
      }
      case "frames": {
        if (this.#frameLength < 0) {
          if (queue.available < 4) return undefined;
          this.#frameOffset = queue.offset;
          const length = queue.readUint32();
          if (length === TRAILER_MARKER) {
            this.#state = "trailer";
            return this.next();
          }
          if (length > this.#maxFrameBytes) {
            throw new SnapshotFormatError(
              "frame-too-large",
              this.#frameOffset,
              `expected a frame of at most maxFrameBytes=${this.#maxFrameBytes} bytes ` +
                `(frame #${this.#count}), found a length of ${length}`,
            );
          }
          this.#frameLength = length;
        }
        if (queue.available < this.#frameLength + 4) return undefined;
        const payload = queue.take(this.#frameLength);
        const stored = queue.readUint32();
        const computed = frameChecksum(payload);
        if (stored !== computed) {
          throw new SnapshotFormatError(
            "frame-checksum",
            this.#frameOffset,
            `expected the checksum ${hex(computed)} of frame #${this.#count} ` +
              `(${this.#frameLength + FRAME_OVERHEAD} bytes), found ${hex(stored)}`,
          );
        }
        this.#frameLength = -1;
        this.#count++;
        return { kind: "frame", payload, offset: this.#frameOffset };
      }
      case "trailer": {
        const rest = TrailerLayout.size - 4;
        if (queue.available < rest) return undefined;
        const countOffset = queue.offset;
        const count = queue.readUint64();
        const computed = queue.checksum();
        const stored = queue.readUint32();
        if (stored !== computed) {
          throw new SnapshotFormatError(
            "snapshot-checksum",
            countOffset + 8,
            `expected the checksum ${hex(computed)} of bytes 0-${countOffset + 7}, ` +
              `found ${hex(stored)}`,
          );
        }
        if (count !== BigInt(this.#count)) {
          throw new SnapshotFormatError(
            "count-mismatch",
            countOffset,
            `expected the trailer to count the ${this.#count} frames read, found ${count}`,
          );
        }
        this.#state = "done";
        this.#checkNothingFollows();
        return { kind: "end", count: this.#count };
      }
      case "done":
        return undefined;
    }
  }

  /** The input is over: throws unless the trailer was read and verified. */
  end(): void {
    const queue = this.#queue;
    const inputEnd = queue.offset + queue.available;
    switch (this.#state) {
      case "done":
        return;
      case "header": {
        checkHeaderPrefix(queue.take(queue.available));
        throw truncated(inputEnd, `expected a ${HeaderLayout.size}-byte header`);
      }
      case "frames":
        if (this.#frameLength < 0) {
          throw truncated(
            inputEnd,
            `expected frame #${this.#count} or the trailer at byte ${queue.offset}`,
          );
        }
        throw truncated(
          inputEnd,
          `expected frame #${this.#count} of ${this.#frameLength + FRAME_OVERHEAD} bytes ` +
            `at byte ${this.#frameOffset}`,
        );
      case "trailer":
        throw truncated(
          inputEnd,
          `expected the ${TrailerLayout.size}-byte trailer at byte ${this.#frameOffset}`,
        );
    }
  }

  #checkNothingFollows(): void {
    if (this.#queue.available === 0) return;
    throw new SnapshotFormatError(
      "trailing-bytes",
      this.#queue.offset,
      `expected the input to end after the trailer, found at least ${this.#queue.available} more bytes`,
    );
  }
}

function truncated(inputEnd: number, expected: string): SnapshotFormatError {
  return new SnapshotFormatError("truncated", inputEnd, `${expected}, but the input ended here`);
}
