import { crc32c } from "@node-rs/crc32";
import type { SnapshotMeta, SnapshotSink } from "@raftstore/raft";
import { StoreClosedError } from "./errors.js";
import type { FileHandle, FileSystem } from "./file-system.js";
import { parentOf } from "./file-system.js";
import { encodeChunkFrame, encodeSnapshotHeader, encodeTrailer } from "./snapshot-format.js";
import type { SyncGuard } from "./sync-guard.js";

/** @internal What a sink needs from its store. */
export interface SinkParams {
  readonly fs: FileSystem;
  readonly guard: SyncGuard;
  readonly handle: FileHandle;
  readonly meta: SnapshotMeta;
  readonly chunkSize: number;
  readonly temporaryPath: string;
  readonly finalPath: string;
  /** Runs the rename step of a commit in the store's order, then prunes old snapshots. */
  readonly publish: (run: () => Promise<void>) => Promise<void>;
}

type SinkState = "writing" | "committed" | "aborted" | "failed";

/**
 * A snapshot being written to its temporary file, in checksummed chunks. `commit` writes the
 * trailer, syncs the file, renames it to its final name and syncs the directory: only then is the
 * snapshot visible, and durable. Calls run in call order.
 */
export class FileSnapshotSink implements SnapshotSink {
  readonly meta: SnapshotMeta;
  readonly #params: SinkParams;
  /** The chunk being filled; written out once full. */
  readonly #chunk: Buffer;
  #filled = 0;
  #chunks = 0;
  #size = 0;
  #checksum = 0;
  #position: number;
  #state: SinkState = "writing";
  #failure: unknown;
  #handleOpen = true;
  #chain: Promise<void>;

  /** @internal Use FileSnapshotStore.create. */
  constructor(params: SinkParams) {
    this.meta = params.meta;
    this.#params = params;
    this.#chunk = Buffer.allocUnsafeSlow(params.chunkSize);
    const header = encodeSnapshotHeader(params.meta, params.chunkSize);
    this.#position = header.length;
    // A failure here is kept by #run and handed to the next write or commit.
    this.#chain = this.#run(() => params.handle.write(header, 0)).then(
      () => undefined,
      () => undefined,
    );
  }

  write(chunk: Uint8Array): Promise<void> {
    // Copied into the sink's own chunk buffer before the promise resolves: the caller may reuse
    // `chunk` as soon as it does.
    return this.#step(async () => {
      let taken = 0;
      while (taken < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - taken, this.#chunk.length - this.#filled);
        this.#chunk.set(chunk.subarray(taken, taken + n), this.#filled);
        this.#filled += n;
        taken += n;
        if (this.#filled === this.#chunk.length) await this.#flushChunk();
      }
    });
  }

  /** Makes the snapshot durable and visible; resolves with the size of its contents in bytes. */
  commit(): Promise<number> {
    const { fs, guard, handle, temporaryPath, finalPath } = this.#params;
    return this.#step(async () => {
      if (this.#filled > 0) await this.#flushChunk();
      const trailer = encodeTrailer({
        size: this.#size,
        chunks: this.#chunks,
        checksum: this.#checksum,
      });
      await handle.write(trailer, this.#position);
      await guard.sync(temporaryPath, "fdatasync", () => handle.datasync());
      this.#handleOpen = false;
      await handle.close();
      const dir = parentOf(finalPath);
      await this.#params.publish(async () => {
        await fs.rename(temporaryPath, finalPath);
        await guard.sync(dir, "fsync-directory", () => fs.syncDirectory(dir));
      });
      this.#state = "committed";
      return this.#size;
    });
  }

  /** Discards the snapshot. Safe at any time; after a successful commit it does nothing. */
  abort(): Promise<void> {
    const settled = this.#chain.then(
      () => undefined,
      () => undefined,
    );
    return settled.then(async () => {
      if (this.#state === "committed" || this.#state === "aborted") return;
      this.#state = "aborted";
      const { fs, handle, temporaryPath } = this.#params;
      if (this.#handleOpen) {
        this.#handleOpen = false;
        await handle.close();
      }
      try {
        await fs.unlink(temporaryPath);
      } catch (error) {
        // Already gone is what abort wants; anything else is reported.
        if ((error as { code?: unknown }).code !== "ENOENT") throw error;
      }
    });
  }

  async #flushChunk(): Promise<void> {
    const data = this.#chunk.subarray(0, this.#filled);
    const frame = encodeChunkFrame(this.#chunks, data);
    const handle = this.#params.handle;
    await handle.write(Buffer.concat([frame, data]), this.#position);
    this.#position += frame.length + data.length;
    this.#checksum = crc32c(data, this.#checksum);
    this.#size += data.length;
    this.#chunks++;
    this.#filled = 0;
  }

  /** Runs a step after the previous ones, unless the sink is no longer writing. */
  #step<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(() => {
      this.#params.guard.check();
      if (this.#state === "failed") throw this.#failure;
      if (this.#state !== "writing") {
        throw new StoreClosedError(`the snapshot sink (${this.#state})`, "write or commit");
      }
      return this.#run(run);
    });
    this.#chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Runs `run`; a failure breaks the sink: every later write and the commit reject with it. */
  async #run<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.#state = "failed";
      this.#failure = error;
      throw error;
    }
  }
}
