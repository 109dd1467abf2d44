// The data of EntryType.Restore entries: a user snapshot restored onto a live cluster travels
// through the log itself, as a run of chunk entries followed by one commit entry (README.md,
// "Restoring a snapshot onto a live cluster"). Because the contents are ordinary log entries,
// they are replicated, made durable on a quorum, truncated on a conflict and recovered after a
// crash exactly like any other entry: a committed commit entry implies that every node that
// will ever apply it holds its chunks.
//
// Layout (integers big-endian):
//   chunk:  kind 1 (1 byte), seq (4 bytes), then the piece of the contents
//   commit: kind 2 (1 byte), index of the first chunk (8), chunks (4), size (8), CRC32C (4)

/** One piece of the contents, `seq` counting from 0 within its run. */
export interface RestoreChunk {
  readonly kind: "chunk";
  readonly seq: number;
  readonly piece: Uint8Array;
}

/**
 * Closes a run: the contents are the `chunks` chunk entries at indexes `first` … `first +
 * chunks - 1` (the entries right before the commit entry), `size` bytes with CRC32C `checksum`.
 */
export interface RestoreCommit {
  readonly kind: "commit";
  readonly first: number;
  readonly chunks: number;
  readonly size: number;
  readonly checksum: number;
}

export type RestoreEntryData = RestoreChunk | RestoreCommit;

const chunkKind = 1;
const commitKind = 2;
const chunkHeaderSize = 5;
const commitSize = 25;

/** Bytes a chunk entry carries besides its piece. */
export const restoreChunkOverhead = chunkHeaderSize;

export function encodeRestoreChunk(seq: number, piece: Uint8Array): Uint8Array {
  const data = new Uint8Array(chunkHeaderSize + piece.byteLength);
  const view = new DataView(data.buffer);
  view.setUint8(0, chunkKind);
  view.setUint32(1, seq);
  data.set(piece, chunkHeaderSize);
  return data;
}

export function encodeRestoreCommit(commit: Omit<RestoreCommit, "kind">): Uint8Array {
  const data = new Uint8Array(commitSize);
  const view = new DataView(data.buffer);
  view.setUint8(0, commitKind);
  view.setBigUint64(1, BigInt(commit.first));
  view.setUint32(9, commit.chunks);
  view.setBigUint64(13, BigInt(commit.size));
  view.setUint32(21, commit.checksum >>> 0);
  return data;
}

/**
 * Decodes a Restore entry's data, or returns why it is malformed. (Entries are checksummed by
 * the leader that made them, so a malformed one means a leader's bug, not a flipped bit.)
 */
export function decodeRestoreEntry(data: Uint8Array): RestoreEntryData | string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const kind = data.byteLength > 0 ? view.getUint8(0) : undefined;
  if (kind === chunkKind) {
    if (data.byteLength < chunkHeaderSize) {
      return `expected a restore chunk of at least ${chunkHeaderSize} bytes, found ${data.byteLength}`;
    }
    return { kind: "chunk", seq: view.getUint32(1), piece: data.subarray(chunkHeaderSize) };
  }
  if (kind === commitKind) {
    if (data.byteLength !== commitSize) {
      return `expected a restore commit of ${commitSize} bytes, found ${data.byteLength}`;
    }
    return {
      kind: "commit",
      first: Number(view.getBigUint64(1)),
      chunks: view.getUint32(9),
      size: Number(view.getBigUint64(13)),
      checksum: view.getUint32(21),
    };
  }
  return `expected a restore entry of kind ${chunkKind} (chunk) or ${commitKind} (commit), found ${String(kind)}`;
}
