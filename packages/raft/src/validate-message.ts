import { checksum, verifyEntry } from "./checksum.js";
import { decodeConfig } from "./config-codec.js";
import { EntryType } from "./log-types.js";

// A receiver validates every message before the core looks at it: a transport may deliver
// anything (a buggy or hostile peer, a decoder that let something through, a flipped bit in
// memory). A message that fails here is dropped and logged; it never reaches the state machine.

const statuses = new Set(["receiving", "installing", "installed", "rejected"]);
const refusals = new Set([
  "",
  "not-leader",
  "uncommitted-limit",
  "leadership-transfer",
  "restore",
  "too-large",
]);
const entryTypes = new Set([EntryType.Normal, EntryType.NoOp, EntryType.Config, EntryType.Restore]);

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isNodeId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isNodeId);
}

/**
 * Returns why `value` is not a well-formed message, or undefined when it is. Checks every field
 * of its type, and for entries their contiguity, terms and checksums.
 */
export function validateMessage(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not an object";
  const m = value as Record<string, unknown>;
  if (!isNodeId(m.from)) return "missing or invalid 'from'";
  if (!isNodeId(m.to)) return "missing or invalid 'to'";
  if (!isIndex(m.term)) return "missing or invalid 'term'";
  let bad: string | undefined;
  switch (m.type) {
    case "append":
      bad = badIndex(m, appendFields);
      if (bad === undefined) return validateEntries(m);
      break;
    case "appendResponse":
      bad = badIndex(m, appendResponseFields) ?? badBoolean(m, successField);
      break;
    case "heartbeat":
      bad = badIndex(m, heartbeatFields);
      break;
    case "heartbeatResponse":
    case "readIndex":
      bad = badIndex(m, contextField);
      break;
    case "vote":
      bad = badIndex(m, voteFields) ?? badBoolean(m, voteFlags);
      break;
    case "voteResponse":
      bad = badBoolean(m, voteResponseFlags);
      break;
    case "timeoutNow":
      break;
    case "readIndexResponse":
      bad = badIndex(m, readIndexResponseFields) ?? badBoolean(m, successField);
      break;
    case "propose":
      bad = badIndex(m, contextField);
      if (bad === undefined) return validateProposedEntries(m);
      break;
    case "proposeResponse":
      bad = badIndex(m, proposeResponseFields);
      if (bad === undefined && !refusals.has(m.refused as string)) bad = "refused";
      break;
    case "snapshotChunk":
      bad = badIndex(m, chunkFields) ?? badBoolean(m, lastField);
      if (bad === undefined) return validateChunk(m);
      break;
    case "snapshotChunkResponse":
      bad = badIndex(m, chunkResponseFields);
      if (bad === undefined && !statuses.has(m.status as string)) bad = "status";
      break;
    default:
      return `unknown message type ${JSON.stringify(m.type)}`;
  }
  return bad === undefined ? undefined : `${m.type} message with missing or invalid '${bad}'`;
}

const appendFields = ["prevIndex", "prevTerm", "commit"];
const appendResponseFields = ["index", "hintIndex", "hintTerm"];
const heartbeatFields = ["commit", "context"];
const contextField = ["context"];
const voteFields = ["lastIndex", "lastTerm"];
const voteFlags = ["preVote", "transfer"];
const voteResponseFlags = ["preVote", "granted"];
const readIndexResponseFields = ["context", "index"];
const proposeResponseFields = ["context", "index", "accepted", "maxEntrySize"];
const chunkFields = ["offset", "size", "checksum"];
const chunkResponseFields = ["snapshotIndex", "snapshotTerm", "nextOffset"];
const successField = ["success"];
const lastField = ["last"];

/** The first of `names` that is not a non-negative safe integer field of `m`. */
function badIndex(m: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) if (!isIndex(m[name])) return name;
  return undefined;
}

/** The first of `names` that is not a boolean field of `m`. */
function badBoolean(m: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) if (typeof m[name] !== "boolean") return name;
  return undefined;
}

/**
 * A follower may only ask for Normal entries: configuration changes, restores and no-ops are
 * the leader's own, and a forwarded one would bypass the checks their callers make.
 */
function validateProposedEntries(m: Record<string, unknown>): string | undefined {
  if (!Array.isArray(m.entries) || m.entries.length === 0) {
    return "propose message without entries";
  }
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null || !(e.data instanceof Uint8Array)) {
      return `propose entry ${i} without data`;
    }
    if (e.type !== EntryType.Normal) return `propose entry ${i} is not a normal entry`;
    if (e.checksum !== checksum(e.data)) return `propose entry ${i} fails its checksum`;
  }
  return undefined;
}

function validateEntries(m: Record<string, unknown>): string | undefined {
  if (!Array.isArray(m.entries)) return "append message without an entries array";
  const prevIndex = m.prevIndex as number;
  let lastTerm = m.prevTerm as number;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null) return `append entry ${i} is not an object`;
    if (!isIndex(e.index) || !isIndex(e.term) || !isIndex(e.checksum)) {
      return `append entry ${i} with a missing or invalid index, term or checksum`;
    }
    if (!entryTypes.has(e.type as EntryType)) {
      return `append entry ${e.index} with unknown type ${JSON.stringify(e.type)}`;
    }
    if (!(e.data instanceof Uint8Array)) return `append entry ${e.index} without Uint8Array data`;
    if (e.index !== prevIndex + 1 + i) {
      return `append entries not contiguous: expected index ${prevIndex + 1 + i}, found ${e.index}`;
    }
    if (e.term < lastTerm || e.term > (m.term as number)) {
      return `append entry ${e.index} has term ${e.term}, outside [${lastTerm}, ${m.term}]`;
    }
    lastTerm = e.term;
    if (!verifyEntry(e as never)) return `append entry ${e.index} fails its checksum`;
    // The core tracks configurations as entries reach its log: one that does not decode must
    // stop the message here, before the log changes, not throw out of step() after.
    if (e.type === EntryType.Config) {
      try {
        decodeConfig(e.data);
      } catch (error) {
        return `append entry ${e.index} carries an invalid configuration: ${(error as Error).message}`;
      }
    }
  }
  return undefined;
}

function validateChunk(m: Record<string, unknown>): string | undefined {
  const s = m.snapshot as Record<string, unknown> | null;
  if (typeof s !== "object" || s === null || !isIndex(s.index) || !isIndex(s.term)) {
    return "snapshotChunk message with missing or invalid snapshot metadata";
  }
  const config = s.config as Record<string, unknown> | null;
  if (typeof config !== "object" || config === null) {
    return "snapshotChunk message without a configuration";
  }
  if (!isStringArray(config.voters) || !isStringArray(config.learners)) {
    return "snapshotChunk message with an invalid configuration";
  }
  if (!(m.data instanceof Uint8Array)) return "snapshotChunk message without Uint8Array data";
  if ((m.offset as number) + m.data.byteLength > (m.size as number)) {
    return `snapshotChunk extends past the snapshot's size ${m.size}`;
  }
  if (checksum(m.data) !== m.checksum)
    return `snapshotChunk at offset ${m.offset} fails its checksum`;
  return undefined;
}
