import * as http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createRaftNode,
  MemoryLogStore,
  MemoryNetwork,
  MemorySnapshotStore,
  MemoryStableStore,
  type RaftNode,
} from "@raftstore/raft";
import { Backend, silentLogger } from "@raftstore/raft-backend";
import { createRaftHandle, lateBoundHandle, type RaftHandle } from "../raft-handle.js";
import { createResourceFsm } from "../resource-fsm.js";

/** One member of a MemoryCluster. */
export interface MemoryMember {
  readonly id: string;
  readonly raft: RaftNode;
  readonly backend: Backend;
}

export interface MemoryCluster {
  readonly members: readonly MemoryMember[];
  leader(): Promise<MemoryMember>;
  followers(): Promise<MemoryMember[]>;
  close(): Promise<void>;
}

/**
 * A cluster of real engines (@raftstore/raft) with in-memory stores and network, each running
 * the Raft-backed Backend as its FSM. Followers serve writes and strong reads through their
 * engine (`forwarding: "raft"`, the default), or forward them over real loopback HTTP/2
 * connections to each member's forwarding routes (`"rpc"`). The Backend is exercised with real
 * consensus, quickly (5 ms ticks), without disks or the public API.
 */
export async function startMemoryCluster(
  size = 3,
  options: { forwarding?: "raft" | "rpc"; leaderHoldMs?: number } = {},
): Promise<MemoryCluster> {
  const forwardProposals = (options.forwarding ?? "raft") === "raft";
  const ids = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const network = new MemoryNetwork();
  const servers = new Map<string, http2.Http2Server>();
  const urls = new Map<string, string>();
  const members: MemoryMember[] = [];
  const handles: RaftHandle[] = [];
  for (const id of ids) {
    let handle: RaftHandle | undefined;
    const backend = new Backend(
      lateBoundHandle(() => handle),
      silentLogger,
      {
        forwardingTimeoutMs: 3000,
        leaderHoldMs: options.leaderHoldMs,
      },
    );
    const raft = createRaftNode({
      id,
      voters: ids,
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport: network.transport(id),
      fsm: createResourceFsm(backend),
      tickIntervalMs: 5,
      electionTicks: 20,
      snapshotThreshold: 200,
      trailingEntries: 50,
      forwardProposals,
    });
    const server = http2.createServer(connectNodeAdapter({ routes: backend.forwardingRoutes() }));
    server.on("connection", (socket: import("node:net").Socket) => socket.setNoDelay(true));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.set(id, server);
    urls.set(id, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    handle = createRaftHandle(raft, { urlOf: (peer) => urls.get(peer), forwardProposals });
    handles.push(handle);
    raft.observe((event) => {
      if (event.type === "leaderChange") {
        backend.leaderChanged();
        handle?.leaderChanged();
      }
    });
    members.push({ id, raft, backend });
  }
  await Promise.all(members.map((m) => m.raft.start()));
  const leader = async () => {
    for (;;) {
      const found = members.find((m) => m.raft.state === "leader");
      if (found !== undefined && members.every((m) => m.raft.leader === found.id)) return found;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const stop = new AbortController();
  const running = members.map((m) => m.backend.run(stop.signal));
  return {
    members,
    leader,
    async followers() {
      const l = await leader();
      return members.filter((m) => m !== l);
    },
    async close() {
      await Promise.all(members.map((m) => m.raft.shutdown()));
      stop.abort();
      await Promise.all(running);
      for (const h of handles) h.close();
      await Promise.all(
        [...servers.values()].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              // Sessions of other members' forwarding clients keep the server open otherwise.
              setTimeout(() => resolve(), 200).unref();
            }),
        ),
      );
    },
  };
}
