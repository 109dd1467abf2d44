import {
  checksum,
  createEntry,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  type SnapshotChunkMessage,
} from "@raftstore/raft";
import fc from "fast-check";

// Messages for tests: arbitraries covering every message type and every field's range, and
// builders for the few shapes the transport tests send.

const u53 = fc.maxSafeNat();
const nodeId = fc.string({ minLength: 1, maxLength: 12 });
const envelope = { from: nodeId, to: nodeId, term: u53 };

const entry: fc.Arbitrary<Entry> = fc.record({
  index: u53,
  term: u53,
  type: fc.constantFrom(EntryType.Normal, EntryType.NoOp, EntryType.Config, EntryType.Restore),
  data: fc.uint8Array({ maxLength: 64 }),
  checksum: fc.nat({ max: 0xffff_ffff }),
});

/** Any well-typed message, fields anywhere in their range (not protocol-consistent). */
export const anyMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant("append" as const),
    ...envelope,
    prevIndex: u53,
    prevTerm: u53,
    entries: fc.array(entry, { maxLength: 5 }),
    commit: u53,
  }),
  fc.record({
    type: fc.constant("appendResponse" as const),
    ...envelope,
    success: fc.boolean(),
    index: u53,
    hintIndex: u53,
    hintTerm: u53,
  }),
  fc.record({ type: fc.constant("heartbeat" as const), ...envelope, commit: u53, context: u53 }),
  fc.record({ type: fc.constant("heartbeatResponse" as const), ...envelope, context: u53 }),
  fc.record({
    type: fc.constant("vote" as const),
    ...envelope,
    preVote: fc.boolean(),
    transfer: fc.boolean(),
    lastIndex: u53,
    lastTerm: u53,
  }),
  fc.record({
    type: fc.constant("voteResponse" as const),
    ...envelope,
    preVote: fc.boolean(),
    granted: fc.boolean(),
  }),
  fc.record({ type: fc.constant("timeoutNow" as const), ...envelope }),
  fc.record({ type: fc.constant("readIndex" as const), ...envelope, context: u53 }),
  fc.record({
    type: fc.constant("readIndexResponse" as const),
    ...envelope,
    context: u53,
    index: u53,
    success: fc.boolean(),
  }),
  fc.record({
    type: fc.constant("propose" as const),
    ...envelope,
    context: u53,
    entries: fc.array(
      fc.record({
        type: fc.constant(EntryType.Normal),
        data: fc.uint8Array({ maxLength: 64 }),
        checksum: fc.nat({ max: 0xffff_ffff }),
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant("proposeResponse" as const),
    ...envelope,
    context: u53,
    index: u53,
    accepted: u53,
    refused: fc.constantFrom(
      "" as const,
      "not-leader" as const,
      "uncommitted-limit" as const,
      "leadership-transfer" as const,
      "restore" as const,
      "too-large" as const,
    ),
    maxEntrySize: u53,
  }),
  fc.record({
    type: fc.constant("snapshotChunk" as const),
    ...envelope,
    snapshot: fc.record({
      index: u53,
      term: u53,
      config: fc.record({
        voters: fc.array(nodeId, { maxLength: 5 }),
        learners: fc.array(nodeId, { maxLength: 3 }),
      }),
    }),
    offset: u53,
    size: u53,
    data: fc.uint8Array({ maxLength: 256 }),
    checksum: fc.nat({ max: 0xffff_ffff }),
    last: fc.boolean(),
  }),
  fc.record({
    type: fc.constant("snapshotChunkResponse" as const),
    ...envelope,
    snapshotIndex: u53,
    snapshotTerm: u53,
    nextOffset: u53,
    status: fc.constantFrom(
      "receiving" as const,
      "installing" as const,
      "installed" as const,
      "rejected" as const,
    ),
  }),
);

/** A heartbeat whose `context` tells messages apart (and their order). */
export function heartbeat(from: NodeId, to: NodeId, context: number): Message {
  return { type: "heartbeat", from, to, term: 1, commit: 0, context };
}

/** An append of `count` checksummed entries of `size` bytes after `prevIndex`. */
export function append(
  from: NodeId,
  to: NodeId,
  prevIndex: number,
  count: number,
  size: number,
): Message {
  const entries: Entry[] = [];
  for (let i = 1; i <= count; i++) {
    entries.push(createEntry(prevIndex + i, 1, EntryType.Normal, new Uint8Array(size).fill(i)));
  }
  return { type: "append", from, to, term: 1, prevIndex, prevTerm: 1, entries, commit: 0 };
}

/** Chunk `index` (of `count`, `size` bytes each) of a snapshot. */
export function snapshotChunk(
  from: NodeId,
  to: NodeId,
  index: number,
  count: number,
  size: number,
): SnapshotChunkMessage {
  const data = new Uint8Array(size).fill(index & 0xff);
  return {
    type: "snapshotChunk",
    from,
    to,
    term: 1,
    snapshot: { index: 100, term: 1, config: { voters: [from, to], learners: [] } },
    offset: index * size,
    size: count * size,
    data,
    checksum: checksum(data),
    last: index === count - 1,
  };
}
