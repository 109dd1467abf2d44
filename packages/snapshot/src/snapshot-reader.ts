import type { SnapshotHeader } from "./header.js";
import { SnapshotParser, type SnapshotPart } from "./snapshot-parser.js";

/**
 * The bytes of a snapshot, in chunks of any size: a file (`readSnapshotFile`), a stream, an
 * encoder's output, or an array of buffers.
 */
export type SnapshotInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A snapshot being read, yielding `T`s: see SnapshotReader. */
export interface SnapshotReaderOf<T> extends AsyncIterable<T>, AsyncDisposable {
  /**
   * The header, once read and verified. Reading it pulls only the header's bytes, so it can be
   * awaited before the iteration starts; it rejects with the iteration's error if the header
   * is damaged. Note that a verified header says nothing yet about the rest of the snapshot.
   */
  readonly header: Promise<SnapshotHeader>;
  /**
   * Stops reading and releases the input (calls its iterator's `return()`), for a reader
   * abandoned before its end, such as one read only for its header. Breaking out of a
   * `for await` loop does the same. An iteration after `close` rejects.
   */
  close(): Promise<void>;
}

/**
 * The reader behind both decoders. `decodeFrame` turns a verified payload into what the
 * iteration yields (it may throw SnapshotFormatError); `onFrame` (for inspection) learns each
 * frame's payload size.
 */
export class StreamingSnapshotReader<T> implements SnapshotReaderOf<T> {
  readonly #chunks: SnapshotInput;
  readonly #parser: SnapshotParser;
  readonly #decodeFrame: (payload: Uint8Array, offset: number) => T;
  readonly #onFrame: ((payloadBytes: number) => void) | undefined;
  #source: AsyncIterator<Uint8Array> | Iterator<Uint8Array> | undefined;
  #sourceDone = false;
  #header: Promise<SnapshotHeader> | undefined;
  #iterated = false;
  #closed = false;

  constructor(
    chunks: SnapshotInput,
    maxFrameBytes: number,
    decodeFrame: (payload: Uint8Array, offset: number) => T,
    onFrame?: (payloadBytes: number) => void,
  ) {
    this.#chunks = chunks;
    this.#parser = new SnapshotParser(maxFrameBytes);
    this.#decodeFrame = decodeFrame;
    this.#onFrame = onFrame;
  }

  get header(): Promise<SnapshotHeader> {
    if (this.#header === undefined) {
      this.#header = this.#readHeader();
      // The iteration rethrows this error; a reader that is only iterated must not leave an
      // unhandled rejection behind. Awaiting `header` still sees the rejection.
      this.#header.catch(() => {});
    }
    return this.#header;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new TypeError("a SnapshotReader can be iterated only once");
    this.#iterated = true;
    return this.#resources();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #readHeader(): Promise<SnapshotHeader> {
    for (;;) {
      const part = this.#parser.next();
      if (part === undefined) {
        await this.#pull();
        continue;
      }
      if (part.kind !== "header") throw unexpected(part);
      return part.header;
    }
  }

  async *#resources(): AsyncGenerator<T, void, undefined> {
    // When the body throws, its error wins over one from releasing the input, as with the
    // language's own `for await` (IteratorClose keeps the original completion).
    try {
      await this.header;
      for (;;) {
        const part = this.#parser.next();
        if (part === undefined) {
          await this.#pull();
        } else if (part.kind === "frame") {
          const item = this.#decodeFrame(part.payload, part.offset);
          this.#onFrame?.(part.payload.byteLength);
          yield item;
        } else if (part.kind === "end") {
          break;
        } else {
          throw unexpected(part);
        }
      }
      // The trailer is verified; the input must end right after it.
      while (!this.#sourceDone) await this.#pull();
    } finally {
      await this.#release();
    }
  }

  /** Feeds the parser one more chunk, or tells it the input is over (which throws if early). */
  async #pull(): Promise<void> {
    if (this.#closed) throw new Error("the SnapshotReader was closed before the end");
    this.#source ??=
      Symbol.asyncIterator in this.#chunks
        ? this.#chunks[Symbol.asyncIterator]()
        : this.#chunks[Symbol.iterator]();
    const result = await this.#source.next();
    if (result.done === true) {
      this.#sourceDone = true;
      this.#parser.end();
      return;
    }
    const chunk: unknown = result.value;
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`expected the input's chunks to be Uint8Arrays, got ${describe(chunk)}`);
    }
    this.#parser.push(chunk);
  }

  async #release(): Promise<void> {
    const source = this.#source;
    if (source === undefined || this.#sourceDone) return;
    this.#sourceDone = true;
    await source.return?.();
  }
}

function unexpected(part: SnapshotPart): Error {
  return new Error(`snapshot parser handed out a ${part.kind} out of order`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
