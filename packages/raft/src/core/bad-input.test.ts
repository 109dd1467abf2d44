import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { EntryType } from "../log-types.js";
import type { Logger } from "../logger.js";
import { newCore, takeMessages, termsOf } from "../test-support/core-harness.js";

// Whatever a peer sends, the core drops what it cannot trust with a logged reason, and neither
// throws nor changes state.

const voters3 = ["n1", "n2", "n3"];

function recordingLogger() {
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(fields, message) {
      warnings.push(`${message} ${JSON.stringify(fields)}`);
    },
    error(fields, message) {
      warnings.push(`${message} ${JSON.stringify(fields)}`);
    },
  };
  return { logger, warnings };
}

const goodAppend = () => ({
  type: "append",
  from: "n2",
  to: "n1",
  term: 2,
  prevIndex: 1,
  prevTerm: 1,
  entries: [createEntry(2, 2, EntryType.Normal, new Uint8Array([1, 2, 3]))],
  commit: 0,
});

const malformed: [string, unknown, RegExp][] = [
  ["null", null, /not an object/],
  ["a string", "append", /not an object/],
  ["an unknown type", { ...goodAppend(), type: "gossip" }, /unknown message type/],
  ["no sender", { ...goodAppend(), from: undefined }, /'from'/],
  ["a negative term", { ...goodAppend(), term: -1 }, /'term'/],
  ["a fractional index", { ...goodAppend(), prevIndex: 1.5 }, /'prevIndex'/],
  ["a term given as a string", { ...goodAppend(), term: "2" }, /'term'/],
  ["entries that are not an array", { ...goodAppend(), entries: {} }, /entries array/],
  [
    "an entry with a flipped bit",
    {
      ...goodAppend(),
      entries: [
        { ...createEntry(2, 2, EntryType.Normal, new Uint8Array([1])), data: new Uint8Array([3]) },
      ],
    },
    /fails its checksum/,
  ],
  [
    "a gap between entries",
    { ...goodAppend(), entries: [createEntry(3, 2, EntryType.Normal, new Uint8Array())] },
    /not contiguous/,
  ],
  [
    "an entry from a future term",
    { ...goodAppend(), entries: [createEntry(2, 9, EntryType.Normal, new Uint8Array())] },
    /outside/,
  ],
  [
    "entry data that is not bytes",
    {
      ...goodAppend(),
      entries: [{ ...createEntry(2, 2, EntryType.Normal, new Uint8Array()), data: "x" }],
    },
    /Uint8Array/,
  ],
  [
    "a configuration entry that does not decode",
    {
      ...goodAppend(),
      entries: [createEntry(2, 2, EntryType.Config, new TextEncoder().encode("garbage"))],
    },
    /invalid configuration/,
  ],
  [
    "a vote without preVote",
    { type: "vote", from: "n2", to: "n1", term: 3, lastIndex: 1, lastTerm: 1, transfer: false },
    /'preVote'/,
  ],
  [
    "a snapshot chunk with a bad checksum",
    {
      type: "snapshotChunk",
      from: "n2",
      to: "n1",
      term: 2,
      snapshot: { index: 5, term: 2, config: { voters: voters3, learners: [] } },
      offset: 0,
      size: 3,
      data: new Uint8Array([1, 2, 3]),
      checksum: 12345,
      last: true,
    },
    /fails its checksum/,
  ],
  [
    "a snapshot chunk past the snapshot's end",
    {
      type: "snapshotChunk",
      from: "n2",
      to: "n1",
      term: 2,
      snapshot: { index: 5, term: 2, config: { voters: voters3, learners: [] } },
      offset: 2,
      size: 3,
      data: new Uint8Array([1, 2, 3]),
      checksum: 0,
      last: true,
    },
    /past the snapshot's size/,
  ],
];

describe("bad input from peers", () => {
  for (const [name, message, reason] of malformed) {
    it(`a message with ${name} is dropped with a logged reason and changes nothing`, () => {
      const { logger, warnings } = recordingLogger();
      const core = newCore("n1", { voters: voters3, logger });
      core.step(message);
      expect(core.term).toBe(1);
      expect(termsOf(core)).toEqual([1]);
      expect(takeMessages(core)).toEqual([]);
      expect(warnings.join("\n")).toMatch(reason);
    });
  }

  it("the same append, well formed, is accepted (the cases above fail for their one flaw)", () => {
    const core = newCore("n1", { voters: voters3 });
    core.step(goodAppend());
    expect(termsOf(core)).toEqual([1, 2]);
  });

  it("a message from a node outside the configuration is dropped with a logged reason", () => {
    const { logger, warnings } = recordingLogger();
    const core = newCore("n1", { voters: voters3, logger });
    core.step({ ...goodAppend(), from: "intruder" });
    expect(termsOf(core)).toEqual([1]);
    expect(core.term).toBe(1);
    expect(warnings.join("\n")).toMatch(/outside the configuration.*intruder/);
  });

  it("a message addressed to another node is dropped with a logged reason", () => {
    const { logger, warnings } = recordingLogger();
    const core = newCore("n1", { voters: voters3, logger });
    core.step({ ...goodAppend(), to: "n3" });
    expect(termsOf(core)).toEqual([1]);
    expect(warnings.join("\n")).toMatch(/misrouted/);
  });

  it("a vote request with a stale term is refused without changing the vote", () => {
    const core = newCore("n1", { voters: voters3, terms: [1], hardState: { term: 5, vote: "" } });
    core.step({
      type: "vote",
      from: "n2",
      to: "n1",
      term: 3,
      preVote: false,
      transfer: false,
      lastIndex: 9,
      lastTerm: 4,
    });
    expect(core.vote).toBe("");
    expect(core.term).toBe(5);
  });
});
