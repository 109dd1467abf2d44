import { describe, expect, it } from "vitest";
import { checksum } from "../checksum.js";
import { EntryType } from "../log-types.js";
import type {
  Message,
  ProposedEntry,
  ProposeMessage,
  ProposeResponseMessage,
} from "../messages.js";
import {
  CoreNetwork,
  decode,
  encode,
  newCore,
  process,
  takeMessages,
} from "../test-support/core-harness.js";
import { validateMessage } from "../validate-message.js";
import type { RaftCore } from "./raft.js";

// Proposals made on a follower and forwarded to the leader (etcd's MsgProp), at the core level:
// the follower sends `propose`, the leader hands it to the runtime in Ready.proposals, and the
// runtime's decision goes back as a `proposeResponse` that the follower finds in
// Ready.proposeResponses.

const voters3 = ["n1", "n2", "n3"];

function cluster(options: { maxUncommittedBytes?: number; preVote?: boolean } = {}) {
  return new CoreNetwork(voters3.map((id) => newCore(id, { voters: voters3, ...options })));
}

const proposed = (text: string): ProposedEntry => {
  const data = encode(text);
  return { type: EntryType.Normal, data, checksum: checksum(data) };
};

const proposeFrom = (
  from: string,
  to: string,
  term: number,
  context: number,
  entries: readonly ProposedEntry[] = [proposed("x")],
): ProposeMessage => ({ type: "propose", from, to, term, context, entries });

/** Steps `m` into `core` and handles its Ready batches; returns what they held. */
function receive(core: RaftCore, m: Message) {
  core.step(m);
  const proposals: ProposeMessage[] = [];
  const responses: ProposeResponseMessage[] = [];
  const messages: Message[] = [];
  while (core.hasReady()) {
    const out = process(core);
    proposals.push(...out.ready.proposals);
    responses.push(...out.ready.proposeResponses);
    messages.push(...out.messages);
  }
  return { proposals, responses, messages };
}

/**
 * Delivers messages until the network is quiet, as CoreNetwork.stabilize does, but answering
 * every forwarded proposal a core surfaces with `answer` (by default: propose the entries) and
 * collecting the propose responses each core surfaces.
 */
function settle(
  net: CoreNetwork,
  answer: (core: RaftCore, m: ProposeMessage) => void = (core, m) =>
    core.answerProposal(m, core.propose(m.entries)),
): Map<string, ProposeResponseMessage[]> {
  const responses = new Map<string, ProposeResponseMessage[]>();
  for (let round = 0; round < 1000; round++) {
    const pending: Message[] = [];
    for (const core of net.cores.values()) {
      while (core.hasReady()) {
        const { ready, messages } = process(core);
        pending.push(...messages);
        for (const m of ready.proposals) answer(core, m);
        if (ready.proposeResponses.length > 0) {
          responses.set(core.id, [...(responses.get(core.id) ?? []), ...ready.proposeResponses]);
        }
      }
    }
    if (pending.length === 0) return responses;
    for (const m of pending) net.deliver(m);
  }
  throw new Error("network did not settle");
}

function entryText(core: RaftCore, index: number): string | undefined {
  const entry = core.log.entry(index);
  return entry === undefined ? undefined : decode(entry.data);
}

describe("forwarding proposals from a follower", () => {
  it("a follower sends its entries to the leader it knows, in its term, without waiting for its disk", () => {
    const net = cluster();
    net.elect("n1");
    const follower = net.core("n2");
    const entries = [proposed("a"), proposed("b")];
    expect(follower.forwardProposals(17, entries)).toBe(true);
    const { ready, messages } = process(follower);
    expect(ready.messages).toEqual([
      { type: "propose", from: "n2", to: "n1", term: follower.term, context: 17, entries },
    ]);
    expect(messages).toHaveLength(1);
    expect(ready.messagesAfterPersist).toEqual([]);
    expect(follower.term).toBe(net.core("n1").term);
  });

  it("the leader surfaces the proposal in Ready.proposals (once) and appends nothing by itself", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const lastIndex = leader.log.lastIndex();
    const m = proposeFrom("n2", "n1", leader.term, 5, [proposed("a")]);
    leader.step(m);
    expect(leader.hasReady()).toBe(true);
    const first = leader.ready();
    expect(first.proposals).toEqual([m]);
    expect(first.entries).toEqual([]);
    expect(leader.hasReady()).toBe(false);
    expect(leader.ready().proposals).toEqual([]);
    expect(leader.log.lastIndex()).toBe(lastIndex);
  });

  it("answerProposal tells the follower where the leader appended the entries, in which term", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const firstIndex = leader.log.lastIndex() + 1;
    const m = proposeFrom("n2", "n1", leader.term, 9, [proposed("a"), proposed("b")]);
    const { proposals } = receive(leader, m);
    expect(proposals).toHaveLength(1);
    const result = leader.propose((proposals[0] as ProposeMessage).entries);
    leader.answerProposal(proposals[0] as ProposeMessage, result);
    const { ready, messages } = process(leader);
    // The answer goes out at once; appends go out too (with the entries).
    const answer = ready.messages.filter((x) => x.type === "proposeResponse");
    expect(answer).toEqual([
      {
        type: "proposeResponse",
        from: "n1",
        to: "n2",
        term: leader.term,
        context: 9,
        index: firstIndex,
        accepted: 2,
        refused: "",
        maxEntrySize: 0,
      },
    ]);
    expect(entryText(leader, firstIndex)).toBe("a");
    expect(entryText(leader, firstIndex + 1)).toBe("b");
    expect(leader.log.term(firstIndex)).toBe(leader.term);
    // The follower finds the answer in its Ready, and the entries arrive, commit and apply.
    for (const x of messages) net.deliver(x);
    const responses = settle(net);
    expect(responses.get("n2")).toEqual(answer);
    for (const id of voters3) {
      const core = net.core(id);
      expect(core.log.committed).toBeGreaterThanOrEqual(firstIndex + 1);
      expect(entryText(core, firstIndex)).toBe("a");
      expect(entryText(core, firstIndex + 1)).toBe("b");
      expect(core.log.term(firstIndex + 1)).toBe(leader.term);
    }
  });

  it("a round trip: forward, leader proposes, follower receives the response for its context", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const expectedIndex = leader.log.lastIndex() + 1;
    net.core("n3").forwardProposals(3, [proposed("from n3")]);
    net.core("n2").forwardProposals(4, [proposed("from n2")]);
    const responses = settle(net);
    const fromN3 = responses.get("n3") ?? [];
    const fromN2 = responses.get("n2") ?? [];
    expect(fromN3).toMatchObject([{ context: 3, accepted: 1, refused: "", term: leader.term }]);
    expect(fromN2).toMatchObject([{ context: 4, accepted: 1, refused: "", term: leader.term }]);
    const indexes = [fromN3[0]?.index, fromN2[0]?.index].sort();
    expect(indexes).toEqual([expectedIndex, expectedIndex + 1]);
    expect(entryText(net.core("n3"), fromN3[0]?.index ?? 0)).toBe("from n3");
    expect(entryText(net.core("n2"), fromN2[0]?.index ?? 0)).toBe("from n2");
    // The leader surfaces no responses, the followers no proposals.
    expect(responses.get("n1")).toBeUndefined();
  });

  it("under maxUncommittedBytes the leader accepts a prefix and refuses the rest with uncommitted-limit", () => {
    const net = cluster({ maxUncommittedBytes: 100 });
    net.elect("n1");
    const leader = net.core("n1");
    const firstIndex = leader.log.lastIndex() + 1;
    const big = (c: string) => proposed(c.repeat(60));
    const m = proposeFrom("n2", "n1", leader.term, 11, [big("a"), big("b"), big("c")]);
    const { proposals } = receive(leader, m);
    leader.answerProposal(proposals[0] as ProposeMessage, leader.propose(m.entries));
    const answer = takeMessages(leader).filter((x) => x.type === "proposeResponse");
    expect(answer).toEqual([
      {
        type: "proposeResponse",
        from: "n1",
        to: "n2",
        term: leader.term,
        context: 11,
        index: firstIndex,
        accepted: 1,
        refused: "uncommitted-limit",
        maxEntrySize: 0,
      },
    ]);
    expect(leader.log.lastIndex()).toBe(firstIndex);
    expect(entryText(leader, firstIndex)).toBe("a".repeat(60));
  });

  it("during a leadership transfer the leader refuses with leadership-transfer and appends nothing", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    expect(leader.transferLeadership("n3")).toBeUndefined();
    takeMessages(leader); // the TimeoutNow is never delivered: the transfer stays in progress
    expect(leader.leadTransferee).toBe("n3");
    const lastIndex = leader.log.lastIndex();
    const m = proposeFrom("n2", "n1", leader.term, 12, [proposed("a"), proposed("b")]);
    const { proposals } = receive(leader, m);
    leader.answerProposal(proposals[0] as ProposeMessage, leader.propose(m.entries));
    expect(takeMessages(leader)).toEqual([
      {
        type: "proposeResponse",
        from: "n1",
        to: "n2",
        term: leader.term,
        context: 12,
        index: lastIndex + 1,
        accepted: 0,
        refused: "leadership-transfer",
        maxEntrySize: 0,
      },
    ]);
    expect(leader.log.lastIndex()).toBe(lastIndex);
  });

  it("a refusal decided by the runtime (a restore) is sent as is, with nothing accepted", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const lastIndex = leader.log.lastIndex();
    const m = proposeFrom("n3", "n1", leader.term, 13);
    const { proposals } = receive(leader, m);
    leader.answerProposal(proposals[0] as ProposeMessage, "restore");
    expect(takeMessages(leader)).toEqual([
      {
        type: "proposeResponse",
        from: "n1",
        to: "n3",
        term: leader.term,
        context: 13,
        index: 0,
        accepted: 0,
        refused: "restore",
        maxEntrySize: 0,
      },
    ]);
    expect(leader.log.lastIndex()).toBe(lastIndex);
  });

  it("a propose result of a node that is no longer leader is answered not-leader", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const m = proposeFrom("n2", "n1", leader.term, 14);
    const { proposals } = receive(leader, m);
    leader.stepDown("test");
    takeMessages(leader);
    leader.answerProposal(proposals[0] as ProposeMessage, leader.propose(m.entries));
    expect(takeMessages(leader)).toMatchObject([
      {
        type: "proposeResponse",
        to: "n2",
        context: 14,
        index: 0,
        accepted: 0,
        refused: "not-leader",
        maxEntrySize: 0,
      },
    ]);
  });

  it("a follower that receives a propose answers not-leader itself and surfaces nothing", () => {
    const net = cluster();
    net.elect("n1");
    const follower = net.core("n3");
    const lastIndex = follower.log.lastIndex();
    const { proposals, messages } = receive(follower, proposeFrom("n2", "n3", follower.term, 21));
    expect(proposals).toEqual([]);
    expect(messages).toEqual([
      {
        type: "proposeResponse",
        from: "n3",
        to: "n2",
        term: follower.term,
        context: 21,
        index: 0,
        accepted: 0,
        refused: "not-leader",
        maxEntrySize: 0,
      },
    ]);
    expect(follower.log.lastIndex()).toBe(lastIndex);
  });

  it("a candidate answers not-leader", () => {
    const net = cluster();
    const candidate = net.core("n2");
    candidate.campaign();
    takeMessages(candidate);
    expect(candidate.state).toBe("candidate");
    const { proposals, messages } = receive(candidate, proposeFrom("n3", "n2", candidate.term, 22));
    expect(proposals).toEqual([]);
    expect(messages).toMatchObject([
      {
        type: "proposeResponse",
        to: "n3",
        term: candidate.term,
        context: 22,
        accepted: 0,
        refused: "not-leader",
        maxEntrySize: 0,
      },
    ]);
  });

  it("a pre-candidate answers not-leader", () => {
    const net = cluster({ preVote: true });
    const candidate = net.core("n2");
    candidate.campaign();
    takeMessages(candidate);
    expect(candidate.state).toBe("pre-candidate");
    const { proposals, messages } = receive(candidate, proposeFrom("n3", "n2", candidate.term, 23));
    expect(proposals).toEqual([]);
    expect(messages).toMatchObject([
      { type: "proposeResponse", to: "n3", context: 23, accepted: 0, refused: "not-leader" },
    ]);
  });

  it("a leader answers a propose of an earlier term with not-leader in its own term, and appends nothing", () => {
    const net = cluster();
    net.elect("n1");
    net.elect("n2");
    const leader = net.core("n2");
    expect(leader.state).toBe("leader");
    const staleTerm = leader.term - 1;
    const lastIndex = leader.log.lastIndex();
    const { proposals, messages } = receive(leader, proposeFrom("n3", "n2", staleTerm, 31));
    expect(proposals).toEqual([]);
    expect(messages).toEqual([
      {
        type: "proposeResponse",
        from: "n2",
        to: "n3",
        term: leader.term,
        context: 31,
        index: 0,
        accepted: 0,
        refused: "not-leader",
        maxEntrySize: 0,
      },
    ]);
    expect(leader.log.lastIndex()).toBe(lastIndex);
  });

  it("a follower surfaces a response of its term, and drops one of an earlier term", () => {
    const net = cluster();
    net.elect("n1");
    const follower = net.core("n2");
    const response = (term: number): ProposeResponseMessage => ({
      type: "proposeResponse",
      from: "n1",
      to: "n2",
      term,
      context: 40,
      index: 7,
      accepted: 1,
      refused: "",
      maxEntrySize: 0,
    });
    expect(receive(follower, response(follower.term - 1)).responses).toEqual([]);
    expect(receive(follower, response(follower.term)).responses).toEqual([response(follower.term)]);
  });

  it("forwardProposals returns false, and sends nothing, without a known leader", () => {
    const lone = newCore("n2", { voters: voters3 });
    expect(lone.leader).toBeUndefined();
    expect(lone.forwardProposals(1, [proposed("a")])).toBe(false);
    expect(takeMessages(lone)).toEqual([]);
  });

  it("forwardProposals returns false as candidate, pre-candidate and leader", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    expect(leader.forwardProposals(1, [proposed("a")])).toBe(false);
    expect(takeMessages(leader)).toEqual([]);

    const follower = net.core("n2");
    expect(follower.leader).toBe("n1");
    follower.campaign();
    takeMessages(follower);
    expect(follower.state).toBe("candidate");
    expect(follower.forwardProposals(2, [proposed("a")])).toBe(false);
    expect(takeMessages(follower)).toEqual([]);

    const preNet = cluster({ preVote: true });
    preNet.elect("n1");
    const pre = preNet.core("n3");
    expect(pre.leader).toBe("n1");
    pre.campaign();
    takeMessages(pre);
    expect(pre.state).toBe("pre-candidate");
    expect(pre.forwardProposals(3, [proposed("a")])).toBe(false);
    expect(takeMessages(pre)).toEqual([]);
  });
});

describe("validating propose messages", () => {
  const good = (): Record<string, unknown> => ({
    ...proposeFrom("n2", "n1", 2, 1, [proposed("a"), proposed("b")]),
  });
  const goodResponse = (): Record<string, unknown> => ({
    type: "proposeResponse",
    from: "n1",
    to: "n2",
    term: 2,
    context: 1,
    index: 5,
    accepted: 2,
    refused: "",
    maxEntrySize: 0,
  });
  const withEntry = (entry: Record<string, unknown>) => ({ ...good(), entries: [entry] });

  it("accepts well-formed propose and proposeResponse messages", () => {
    expect(validateMessage(good())).toBeUndefined();
    for (const refused of [
      "",
      "not-leader",
      "uncommitted-limit",
      "leadership-transfer",
      "restore",
    ]) {
      expect(validateMessage({ ...goodResponse(), refused })).toBeUndefined();
    }
  });

  const malformed: [string, unknown, RegExp][] = [
    ["no entries", { ...good(), entries: [] }, /propose message without entries/],
    ["entries that are not an array", { ...good(), entries: {} }, /without entries/],
    ["missing entries", { ...good(), entries: undefined }, /without entries/],
    ["a negative context", { ...good(), context: -1 }, /'context'/],
    ["a fractional context", { ...good(), context: 1.5 }, /'context'/],
    ["an entry that is not an object", { ...good(), entries: [null] }, /entry 0 without data/],
    [
      "an entry whose data is not bytes",
      withEntry({ type: EntryType.Normal, data: "a", checksum: 0 }),
      /entry 0 without data/,
    ],
    ...[EntryType.Config, EntryType.NoOp, EntryType.Restore].map(
      (type): [string, unknown, RegExp] => [
        `a ${EntryType[type]} entry`,
        withEntry({ ...proposed("a"), type }),
        /entry 0 is not a normal entry/,
      ],
    ),
    [
      "a non-Normal entry after a Normal one",
      { ...good(), entries: [proposed("a"), { ...proposed("b"), type: EntryType.Config }] },
      /entry 1 is not a normal entry/,
    ],
    [
      "an entry with a wrong checksum",
      withEntry({ ...proposed("a"), checksum: (checksum(encode("a")) + 1) >>> 0 }),
      /entry 0 fails its checksum/,
    ],
    [
      "an entry whose data changed after its checksum",
      { ...good(), entries: [proposed("a"), { ...proposed("b"), data: encode("c") }] },
      /entry 1 fails its checksum/,
    ],
    [
      "an entry without a checksum",
      withEntry({ type: EntryType.Normal, data: encode("a") }),
      /entry 0 fails its checksum/,
    ],
    ["a response with an unknown refusal", { ...goodResponse(), refused: "tired" }, /'refused'/],
    ["a response without refusal", { ...goodResponse(), refused: undefined }, /'refused'/],
    ["a response with a negative index", { ...goodResponse(), index: -1 }, /'index'/],
    ["a response with a fractional accepted", { ...goodResponse(), accepted: 0.5 }, /'accepted'/],
    ["a response without context", { ...goodResponse(), context: undefined }, /'context'/],
  ];

  for (const [what, message, problem] of malformed) {
    it(`rejects ${what}`, () => {
      expect(validateMessage(message)).toMatch(problem);
    });
  }

  it("the leader drops a malformed propose: nothing surfaces, nothing is appended, nothing answered", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    const lastIndex = leader.log.lastIndex();
    for (const [, message] of malformed.slice(0, -5)) {
      const m = { ...(message as Record<string, unknown>), term: leader.term };
      const { proposals, messages } = receive(leader, m as unknown as Message);
      expect(proposals).toEqual([]);
      expect(messages).toEqual([]);
    }
    expect(leader.log.lastIndex()).toBe(lastIndex);
  });
});
