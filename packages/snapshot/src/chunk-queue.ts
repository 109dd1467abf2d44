import { checksum } from "./checksum.js";

/**
 * The decoder's input buffer: the chunks received and not yet consumed, read as one stream of
 * bytes whatever the chunk boundaries (down to one byte per chunk). Reads never concatenate
 * more than the field or frame being read, so memory is bounded by the largest frame plus one
 * chunk, not by the input.
 *
 * It also keeps the CRC32C of every byte consumed, for the trailer's checksum. A chunk is
 * folded into it when it has been consumed to its end, so the cost is one native call per
 * chunk, plus one for the part of a chunk consumed when `checksum()` is asked.
 *
 * The queue keeps references to the chunks it is given until it has consumed them; the
 * producer must not reuse their memory (Node streams and our encoder never do).
 */
export class ChunkQueue {
  // chunks[head] is the chunk being consumed, from position `position`.
  #chunks: Uint8Array[] = [];
  #head = 0;
  #position = 0;
  // Bytes of chunks[head] before `#checksummed` are folded into `#checksum`.
  #checksummed = 0;
  #checksum = 0;
  #available = 0;
  #consumed = 0;

  /** Bytes received and not yet consumed. */
  get available(): number {
    return this.#available;
  }

  /** Bytes consumed so far: the offset in the input of the next byte. */
  get offset(): number {
    return this.#consumed;
  }

  /** Adds a chunk at the end. Empty chunks are ignored. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.byteLength;
  }

  /** The byte `index` bytes ahead of the next one (index < available), without consuming. */
  peekByte(index: number): number {
    let i = this.#head;
    let at = this.#position + index;
    for (;;) {
      const chunk = this.#chunks[i] as Uint8Array;
      if (at < chunk.byteLength) return chunk[at] as number;
      at -= chunk.byteLength;
      i++;
    }
  }

  /** Consumes a big-endian unsigned 32-bit integer (4 bytes must be available). */
  readUint32(): number {
    const chunk = this.#chunks[this.#head] as Uint8Array;
    const at = this.#position;
    let value: number;
    if (chunk.byteLength - at >= 4) {
      value =
        (((chunk[at] as number) << 24) |
          ((chunk[at + 1] as number) << 16) |
          ((chunk[at + 2] as number) << 8) |
          (chunk[at + 3] as number)) >>>
        0;
    } else {
      value =
        ((this.peekByte(0) << 24) |
          (this.peekByte(1) << 16) |
          (this.peekByte(2) << 8) |
          this.peekByte(3)) >>>
        0;
    }
    this.skip(4);
    return value;
  }

  /** Consumes a big-endian unsigned 64-bit integer (8 bytes must be available). */
  readUint64(): bigint {
    const high = this.readUint32();
    const low = this.readUint32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /**
   * Consumes `length` bytes (they must be available) into a new buffer that the caller owns:
   * nothing returned ever aliases an input chunk, so a decoded resource never keeps a whole
   * 64 KiB chunk alive for the sake of a few bytes.
   */
  take(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[this.#head] as Uint8Array;
      const n = Math.min(length - filled, chunk.byteLength - this.#position);
      bytes.set(chunk.subarray(this.#position, this.#position + n), filled);
      filled += n;
      this.skip(n);
    }
    return bytes;
  }

  /** Consumes `length` bytes (they must be available). */
  skip(length: number): void {
    this.#available -= length;
    this.#consumed += length;
    let rest = length;
    while (rest > 0) {
      const chunk = this.#chunks[this.#head] as Uint8Array;
      const n = Math.min(rest, chunk.byteLength - this.#position);
      this.#position += n;
      rest -= n;
      if (this.#position === chunk.byteLength) this.#dropHead(chunk);
    }
  }

  /** CRC32C of every byte consumed so far. */
  checksum(): number {
    const chunk = this.#chunks[this.#head];
    if (chunk !== undefined && this.#position > this.#checksummed) {
      this.#checksum = checksum(chunk.subarray(this.#checksummed, this.#position), this.#checksum);
      this.#checksummed = this.#position;
    }
    return this.#checksum;
  }

  #dropHead(chunk: Uint8Array): void {
    this.#checksum = checksum(
      this.#checksummed === 0 ? chunk : chunk.subarray(this.#checksummed),
      this.#checksum,
    );
    this.#chunks[this.#head] = EMPTY;
    this.#head++;
    this.#position = 0;
    this.#checksummed = 0;
    // Compact now and then, so that the array does not grow with the input.
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
