import {
  createRaftNode,
  MemoryLogStore,
  MemorySnapshotStore,
  MemoryStableStore,
  type NodeId,
  type RaftNode,
  type RaftNodeOptions,
} from "@raftstore/raft";
import { encodeCommand, KvStateMachine } from "@raftstore/raft/testing";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "./test-support/cluster.js";
import { type NodeServer, startNodeServer } from "./test-support/node-server.js";
import { createClusterCertificates } from "./testing/certificates.js";
import type { TransportTlsOptions } from "./tls.js";
import { createRaftTransport, type RaftTransport } from "./transport.js";

// The engine of @raftstore/raft over this transport, on loopback: the same nodes as its own
// runtime tests, with HTTP/2 between them instead of the in-memory network.

interface Member {
  readonly id: NodeId;
  readonly fsm: KvStateMachine;
  readonly transport: RaftTransport;
  readonly node: RaftNode;
  server: NodeServer;
}

type EngineOptions = Partial<
  Omit<
    RaftNodeOptions,
    "id" | "voters" | "logStore" | "stableStore" | "snapshotStore" | "transport" | "fsm"
  >
>;

let members: Member[] = [];

afterEach(async () => {
  await Promise.all(members.map((m) => m.node.shutdown()));
  await Promise.all(members.map((m) => m.server.close()));
  members = [];
});

async function startCluster(
  ids: readonly NodeId[],
  engine: EngineOptions = {},
  tls?: Readonly<Record<NodeId, TransportTlsOptions>>,
): Promise<Member[]> {
  for (const id of ids) {
    const transport = createRaftTransport({
      id,
      peers: {},
      tls: tls?.[id],
      backoff: { initialMs: 10, maxMs: 100 },
    });
    const server = await startNodeServer(transport, { tls: tls?.[id] });
    const fsm = new KvStateMachine();
    const node = createRaftNode({
      id,
      voters: ids,
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport,
      fsm,
      tickIntervalMs: 20,
      electionTicks: 10,
      ...engine,
    });
    members.push({ id, fsm, transport, node, server });
  }
  const addresses = Object.fromEntries(members.map((m) => [m.id, m.server.baseUrl]));
  for (const m of members) m.transport.setPeers(addresses);
  await Promise.all(members.map((m) => m.node.start()));
  return members;
}

async function leaderOf(cluster: readonly Member[]): Promise<Member> {
  let leader: Member | undefined;
  await waitFor(() => {
    const leaders = cluster.filter((m) => m.node.state === "leader");
    leader = leaders.length === 1 ? leaders[0] : undefined;
    return leader !== undefined && cluster.every((m) => m.node.leader === leader?.id);
  }, "a leader all nodes agree on");
  return leader as Member;
}

const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

describe("a 3-node raft cluster over the transport", () => {
  it("elects a leader and commits entries on every node, over mutual TLS", async () => {
    const ids = ["n1", "n2", "n3"];
    const certs = await createClusterCertificates(ids);
    const cluster = await startCluster(ids, {}, certs.nodes);
    const leader = await leaderOf(cluster);
    for (let i = 0; i < 50; i++) await leader.node.apply(put(`k${i % 5}`, `v${i}`));
    await waitFor(
      () => cluster.every((m) => m.fsm.lastIndex === leader.fsm.lastIndex),
      "every node to apply everything",
    );
    expect(new Set(cluster.map((m) => m.fsm.stateHash)).size).toBe(1);
    expect(cluster.every((m) => m.fsm.get("k4") === "v49")).toBe(true);
    const sent = leader.transport.metrics().peers;
    for (const m of cluster.filter((c) => c !== leader)) {
      expect(sent[m.id]?.sent.append?.messages).toBeGreaterThan(0);
      expect(m.transport.metrics().peers[leader.id]?.sent.appendResponse?.messages).toBeGreaterThan(
        0,
      );
    }
  });

  it("brings a follower that was cut off up to date with a snapshot sent on its own stream", async () => {
    const cluster = await startCluster(["n1", "n2", "n3"], {
      snapshotThreshold: 20,
      trailingEntries: 5,
      snapshotChunkSize: 256,
    });
    const leader = await leaderOf(cluster);
    const lagging = cluster.find((m) => m !== leader) as Member;
    await lagging.server.close(); // nothing reaches it; what it sends goes unanswered
    for (let i = 0; i < 100; i++) await leader.node.apply(put(`key${i % 10}`, `v${i}`));
    await waitFor(() => leader.node.stats().firstIndex > 10, "the leader to compact its log");
    lagging.server = await startNodeServer(lagging.transport, { port: lagging.server.port });
    await waitFor(() => lagging.fsm.get("key9") === "v99", "the follower to catch up");
    expect(lagging.fsm.stateHash).toBe(leader.fsm.stateHash);
    const toLagging = leader.transport.metrics().peers[lagging.id];
    expect(toLagging?.sent.snapshotChunk?.messages).toBeGreaterThan(0);
    const received = lagging.transport.metrics().peers[leader.id]?.received;
    expect(received?.snapshotChunk?.messages).toBeGreaterThan(0);
  });
});
