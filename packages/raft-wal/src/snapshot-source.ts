import { crc32c } from "@node-rs/crc32";
import type { SnapshotMeta, SnapshotSource } from "@raftstore/raft";
import { SnapshotCorruptionError } from "./errors.js";
import { type FileHandle, readExactly, ShortReadError } from "./file-system.js";
import {
  checksumProblem,
  chunkChecksum,
  chunkFrameSize,
  type SnapshotHeader,
  type SnapshotTrailer,
} from "./snapshot-format.js";

/**
 * A complete snapshot opened for reading. Its header and trailer were verified when it was
 * opened; `read` verifies every chunk before handing it out, and, when it reads from the start,
 * the checksum of the whole contents at the end. Damage rejects the iteration with a
 * SnapshotCorruptionError naming the file and offset.
 */
export class FileSnapshotSource implements SnapshotSource {
  readonly meta: SnapshotMeta;
  /** The size of the contents in bytes. */
  readonly size: number;
  /** The file the snapshot is stored in. */
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #header: SnapshotHeader;
  readonly #trailer: SnapshotTrailer;

  /** @internal Use FileSnapshotStore.open. */
  constructor(handle: FileHandle, path: string, header: SnapshotHeader, trailer: SnapshotTrailer) {
    this.meta = header.meta;
    this.size = trailer.size;
    this.path = path;
    this.#handle = handle;
    this.#header = header;
    this.#trailer = trailer;
  }

  /**
   * The contents from byte `offset` on, in the chunks they are stored in (the first one cut at
   * `offset`). Every chunk yielded is a fresh buffer the caller may keep.
   */
  read(offset = 0): AsyncIterable<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.size) {
      throw new RangeError(`expected an offset from 0 to ${this.size}, found ${offset}`);
    }
    return this.#chunks(offset);
  }

  close(): Promise<void> {
    return this.#handle.close();
  }

  async *#chunks(offset: number): AsyncGenerator<Uint8Array> {
    const { chunkSize, length: headerLength } = this.#header;
    const { chunks, size } = this.#trailer;
    const wholeChecked = offset === 0;
    let whole = 0;
    for (let number = Math.floor(offset / chunkSize); number < chunks; number++) {
      const start = number * chunkSize;
      const length = Math.min(chunkSize, size - start);
      const position = headerLength + number * (chunkFrameSize + chunkSize);
      const bytes = await this.#readFrame(position, length);
      const storedLength = bytes.readUInt32LE(0);
      if (storedLength !== length) {
        throw this.#damaged(
          position,
          `expected chunk ${number} to hold ${length} bytes, found ${storedLength}`,
        );
      }
      const data = bytes.subarray(chunkFrameSize);
      const computed = chunkChecksum(number, data);
      const stored = bytes.readUInt32LE(4);
      if (computed !== stored)
        throw this.#damaged(position, checksumProblem(`chunk ${number}`, computed, stored));
      if (wholeChecked) whole = crc32c(data, whole);
      yield start < offset ? data.subarray(offset - start) : data;
    }
    if (wholeChecked && whole !== this.#trailer.checksum) {
      throw this.#damaged(
        headerLength + chunks * chunkFrameSize + size,
        checksumProblem("whole contents", whole, this.#trailer.checksum),
      );
    }
  }

  async #readFrame(position: number, length: number): Promise<Buffer> {
    try {
      return await readExactly(this.#handle, this.path, position, chunkFrameSize + length);
    } catch (error) {
      if (error instanceof ShortReadError) throw this.#damaged(position, error.message);
      throw error;
    }
  }

  #damaged(offset: number, problem: string): SnapshotCorruptionError {
    return new SnapshotCorruptionError(this.path, offset, problem);
  }
}
