import type { Message, NodeId, TransportHandler } from "@raftstore/raft";
import type { RaftTransportOptions } from "../options.js";
import type { TransportTlsOptions } from "../tls.js";
import { createRaftTransport, type RaftTransport } from "../transport.js";
import { type NodeServer, type NodeServerOptions, startNodeServer } from "./node-server.js";

// Nodes wired over real loopback HTTP/2: each has a transport, a server mounting its routes,
// and a handler recording what arrives. Transports are created first with no peers, servers
// listen on free ports, and then every transport learns every address (setPeers).

/** A TransportHandler that records everything it is told. */
export class Inbox implements TransportHandler {
  readonly messages: Message[] = [];
  readonly unreachable: NodeId[] = [];

  onMessage(message: Message): void {
    this.messages.push(message);
  }

  onUnreachable(peer: NodeId): void {
    this.unreachable.push(peer);
  }

  /** Messages of one type, in arrival order. */
  ofType<T extends Message["type"]>(type: T): Extract<Message, { type: T }>[] {
    return this.messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
  }
}

export interface TestNode {
  readonly id: NodeId;
  readonly transport: RaftTransport;
  readonly inbox: Inbox;
  server: NodeServer;
}

export interface TestNodesOptions {
  /** Per node TLS settings (certificates); the same for transport and server. */
  readonly tls?: Readonly<Record<NodeId, TransportTlsOptions>>;
  /** Options for every transport, besides id, peers and tls. */
  readonly transport?: Omit<RaftTransportOptions, "id" | "peers" | "tls">;
  /** Per node cluster ids (RaftTransportOptions.clusterId). */
  readonly clusterIds?: Readonly<Record<NodeId, string>>;
  readonly server?: Omit<NodeServerOptions, "tls" | "port">;
}

export interface TestNodes {
  readonly nodes: ReadonlyMap<NodeId, TestNode>;
  node(id: NodeId): TestNode;
  /** Every node's address, as a peer map. */
  addresses(): Record<NodeId, string>;
  /** Stops a node's server (its transport stays): the peer is dead. */
  kill(id: NodeId): Promise<void>;
  /** Starts a killed node's server again on the same port. */
  revive(id: NodeId): Promise<void>;
  close(): Promise<void>;
}

export async function startTestNodes(
  ids: readonly NodeId[],
  options: TestNodesOptions = {},
): Promise<TestNodes> {
  const nodes = new Map<NodeId, TestNode>();
  for (const id of ids) {
    const tls = options.tls?.[id];
    const transport = createRaftTransport({
      ...options.transport,
      id,
      peers: {},
      tls,
      clusterId: options.clusterIds?.[id] ?? options.transport?.clusterId,
    });
    const inbox = new Inbox();
    transport.start(inbox);
    const server = await startNodeServer(transport, { ...options.server, tls });
    nodes.set(id, { id, transport, inbox, server });
  }
  const addresses = () =>
    Object.fromEntries([...nodes.values()].map((n) => [n.id, n.server.baseUrl]));
  for (const node of nodes.values()) node.transport.setPeers(addresses());
  const node = (id: NodeId) => {
    const found = nodes.get(id);
    if (found === undefined) throw new Error(`no test node ${id}`);
    return found;
  };
  return {
    nodes,
    node,
    addresses,
    kill: (id) => node(id).server.close(),
    async revive(id) {
      const n = node(id);
      n.server = await startNodeServer(n.transport, {
        ...options.server,
        tls: options.tls?.[id],
        port: n.server.port,
      });
    },
    async close() {
      await Promise.all([...nodes.values()].map((n) => n.transport.close()));
      await Promise.all([...nodes.values()].map((n) => n.server.close()));
    },
  };
}

/** Polls `condition` every few milliseconds until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  description: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
