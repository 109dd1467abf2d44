import { checksum } from "./checksum.js";

/**
 * The encoder's output buffer: bytes are appended and come out as chunks of exactly
 * `chunkBytes` (the last one shorter), however small or large the writes are. Small frames are
 * thereby coalesced, large ones split, and the output's memory is bounded by a few chunks.
 *
 * It also keeps the CRC32C of everything written, which the trailer needs. Full chunks are
 * folded into it once, when they fill up, so the cost is one native call per chunk.
 *
 * A chunk handed out by `nextReady` or `flush` is never touched again: the caller owns it.
 */
export class ChunkWriter {
  readonly #chunkBytes: number;
  #chunk: Uint8Array | undefined;
  #view: DataView | undefined;
  #used = 0;
  readonly #ready: Uint8Array[] = [];
  // CRC32C of every byte in chunks that filled up (ready or handed out).
  #checksumOfFull = 0;
  #written = 0;

  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
  }

  /** How many bytes were written so far: the offset of the next byte. */
  get written(): number {
    return this.#written;
  }

  /** Appends bytes (copied; the caller keeps `bytes`). */
  write(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.byteLength) {
      const chunk = this.#current();
      const n = Math.min(bytes.byteLength - from, chunk.byteLength - this.#used);
      chunk.set(
        from === 0 && n === bytes.byteLength ? bytes : bytes.subarray(from, from + n),
        this.#used,
      );
      this.#advance(n);
      from += n;
    }
  }

  /** Appends a big-endian unsigned 32-bit integer. */
  writeUint32(value: number): void {
    const chunk = this.#current();
    if (chunk.byteLength - this.#used >= 4) {
      (this.#view as DataView).setUint32(this.#used, value);
      this.#advance(4);
      return;
    }
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    this.write(bytes);
  }

  /** CRC32C of every byte written so far. */
  checksum(): number {
    if (this.#chunk === undefined || this.#used === 0) return this.#checksumOfFull;
    return checksum(this.#chunk.subarray(0, this.#used), this.#checksumOfFull);
  }

  /** The next full chunk, or undefined if none is waiting. */
  nextReady(): Uint8Array | undefined {
    return this.#ready.shift();
  }

  /** Hands out the partly filled chunk (after every full one was taken), if any. */
  flush(): Uint8Array | undefined {
    const chunk = this.#chunk;
    if (chunk === undefined || this.#used === 0) return undefined;
    this.#checksumOfFull = this.checksum();
    const rest = chunk.subarray(0, this.#used);
    this.#chunk = undefined;
    this.#view = undefined;
    this.#used = 0;
    return rest;
  }

  #current(): Uint8Array {
    if (this.#chunk !== undefined) return this.#chunk;
    // A plain Uint8Array (not a Buffer), as the types promise; zero-filling 64 KiB is noise.
    const chunk = new Uint8Array(this.#chunkBytes);
    this.#chunk = chunk;
    this.#view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return chunk;
  }

  #advance(n: number): void {
    this.#used += n;
    this.#written += n;
    const chunk = this.#chunk as Uint8Array;
    if (this.#used < chunk.byteLength) return;
    this.#checksumOfFull = checksum(chunk, this.#checksumOfFull);
    this.#ready.push(chunk);
    this.#chunk = undefined;
    this.#view = undefined;
    this.#used = 0;
  }
}
