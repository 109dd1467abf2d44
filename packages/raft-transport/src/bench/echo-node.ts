// The far end of the benchmark, in a process of its own: node n2, which answers every message
// as a follower would (appends, heartbeats, snapshot chunks), on its own stream back to n1.
// argv[2] is n1's base URL; it prints its own base URL as one JSON line, and exits when its
// stdin closes.
import type { Message } from "@raftstore/raft";
import { startNodeServer } from "../test-support/node-server.js";
import { createRaftTransport } from "../transport.js";

const senderUrl = process.argv[2];
if (senderUrl === undefined) throw new Error("expected n1's base URL as the first argument");

const transport = createRaftTransport({
  id: "n2",
  peers: { n1: senderUrl },
  maxQueuedMessages: 1 << 16,
  maxQueuedBytes: 256 << 20,
});

function answer(m: Message): Message | undefined {
  const envelope = { from: "n2", to: m.from, term: m.term };
  switch (m.type) {
    case "append":
      return {
        ...envelope,
        type: "appendResponse",
        success: true,
        index: m.prevIndex + m.entries.length,
        hintIndex: 0,
        hintTerm: 0,
      };
    case "heartbeat":
      return { ...envelope, type: "heartbeatResponse", context: m.context };
    case "snapshotChunk":
      return {
        ...envelope,
        type: "snapshotChunkResponse",
        snapshotIndex: m.snapshot.index,
        snapshotTerm: m.snapshot.term,
        nextOffset: m.offset + m.data.byteLength,
        status: "receiving",
      };
    default:
      return undefined;
  }
}

transport.start({
  onMessage: (m) => {
    const reply = answer(m);
    if (reply !== undefined) transport.send(reply);
  },
  onUnreachable: (peer) => process.stderr.write(`echo node: ${peer} unreachable\n`),
});
const server = await startNodeServer(transport);
process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await transport.close();
  await server.close();
  process.exit(0);
});
