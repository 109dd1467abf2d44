import { crc32c } from "@node-rs/crc32";
import type { HardState, StableStore } from "@raftstore/raft";
import { StableStateCorruptionError, StoreClosedError } from "./errors.js";
import {
  type FileSystem,
  hasErrorCode,
  readWholeFile,
  writeFileAtomically,
} from "./file-system.js";
import type { SyncGuard } from "./sync-guard.js";
import { readU64, writeU64 } from "./wal-format.js";

// The hard state file (README.md, "On-disk format"), little-endian:
//
//    0  4  magic "RSHS"
//    4  4  format version (1)
//    8  8  term
//   16  2  v: length of the vote in bytes
//   18  v  vote (the node id voted for in `term`, UTF-8; empty for none)
// 18+v  4  CRC32C of bytes 0..17+v
//
// It is replaced atomically: written to "<file>.tmp", fdatasync'ed, renamed over the file, and
// the directory fsync'ed. After a crash either the old or the new state is read, never a mix.

const magic = 0x53485352; // "RSHS" read as a little-endian u32
const version = 1;
const fixedSize = 22;
const maxVoteBytes = 0xffff;

/** The state of a node that never saw a term. */
export const initialHardState: HardState = Object.freeze({ term: 0, vote: "" });

export function encodeHardState(state: HardState): Buffer {
  const vote = Buffer.from(state.vote, "utf8");
  const buffer = Buffer.alloc(fixedSize + vote.length);
  buffer.writeUInt32LE(magic, 0);
  buffer.writeUInt32LE(version, 4);
  writeU64(buffer, state.term, 8);
  buffer.writeUInt16LE(vote.length, 16);
  vote.copy(buffer, 18);
  buffer.writeUInt32LE(crc32c(buffer.subarray(0, 18 + vote.length)), 18 + vote.length);
  return buffer;
}

/** Decodes the file's bytes, or throws StableStateCorruptionError naming `file`. */
export function decodeHardState(file: string, bytes: Buffer): HardState {
  if (bytes.length < fixedSize) {
    throw new StableStateCorruptionError(
      file,
      `expected at least ${fixedSize} bytes, found ${bytes.length}`,
    );
  }
  const voteLength = bytes.readUInt16LE(16);
  if (bytes.length !== fixedSize + voteLength) {
    throw new StableStateCorruptionError(
      file,
      `expected ${fixedSize + voteLength} bytes for a ${voteLength}-byte vote, found ${bytes.length}`,
    );
  }
  const stored = bytes.readUInt32LE(18 + voteLength);
  const computed = crc32c(bytes.subarray(0, 18 + voteLength));
  if (stored !== computed) {
    throw new StableStateCorruptionError(
      file,
      `checksum mismatch: computed 0x${computed.toString(16)}, stored 0x${stored.toString(16)}`,
    );
  }
  if (bytes.readUInt32LE(0) !== magic) {
    throw new StableStateCorruptionError(file, 'expected the magic "RSHS"');
  }
  if (bytes.readUInt32LE(4) !== version) {
    throw new StableStateCorruptionError(
      file,
      `expected format version ${version}, found ${bytes.readUInt32LE(4)}`,
    );
  }
  const term = readU64(bytes, 8);
  if (term === undefined) throw new StableStateCorruptionError(file, "the term is beyond 2^53");
  return { term, vote: bytes.toString("utf8", 18, 18 + voteLength) };
}

/**
 * The term and vote of a node, in one small file replaced atomically on every save. `save`
 * resolves only once the new state is durable (file and directory entry synced); calls run in
 * call order.
 */
export class FileStableStore implements StableStore {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #guard: SyncGuard;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  /** @internal Use openStableStore (or openDataDir). */
  constructor(fs: FileSystem, path: string, guard: SyncGuard) {
    this.#fs = fs;
    this.#path = path;
    this.#guard = guard;
  }

  /** The file holding the state. */
  get path(): string {
    return this.#path;
  }

  /** Reads the saved state back from disk, verifying its checksum. */
  load(): Promise<HardState> {
    return this.#then("load", async () => decodeHardState(this.#path, await this.#read()));
  }

  save(state: HardState): Promise<void> {
    if (!Number.isSafeInteger(state.term) || state.term < 0) {
      return Promise.reject(
        new RangeError(`expected a non-negative integer term, found ${state.term}`),
      );
    }
    if (typeof state.vote !== "string" || Buffer.byteLength(state.vote, "utf8") > maxVoteBytes) {
      return Promise.reject(
        new RangeError(`expected a vote of at most ${maxVoteBytes} UTF-8 bytes`),
      );
    }
    const bytes = encodeHardState(state);
    const guard = this.#guard;
    return this.#then("save", () =>
      writeFileAtomically(this.#fs, this.#path, bytes, (path, kind, run) =>
        guard.sync(path, kind, run),
      ),
    );
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#chain.then(() => this.#guard.check());
  }

  async #read(): Promise<Buffer> {
    try {
      return await readWholeFile(this.#fs, this.#path);
    } catch (error) {
      if (hasErrorCode(error, "ENOENT")) {
        throw new StableStateCorruptionError(this.#path, "the file is missing", { cause: error });
      }
      throw error;
    }
  }

  #then<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed)
      return Promise.reject(new StoreClosedError("the hard state store", operation));
    const result = this.#chain.then(() => {
      this.#guard.check();
      return run();
    });
    // The chain only orders the calls; each call's outcome, failure included, goes to its caller.
    this.#chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * Opens the hard state file at `path`, removing a temporary file a crash left behind. With
 * `create`, a missing file is written with the initial state (a new data directory); otherwise
 * it is damage (StableStateCorruptionError): a node that forgot its vote could vote twice.
 */
export async function openStableStore(
  fs: FileSystem,
  path: string,
  guard: SyncGuard,
  create = false,
): Promise<FileStableStore> {
  try {
    await fs.unlink(`${path}.tmp`);
  } catch (error) {
    if (!hasErrorCode(error, "ENOENT")) throw error;
  }
  const store = new FileStableStore(fs, path, guard);
  if (create) {
    await store.save(initialHardState);
  } else {
    await store.load();
  }
  return store;
}
