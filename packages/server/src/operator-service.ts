import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { OperatorService } from "@raftstore/proto/operator/v1";
import type { RaftNode } from "@raftstore/raft";
import { type Backend, encodeStoreSnapshot } from "@raftstore/raft-backend";
import type { NodeConfig } from "./config.js";
import { toConnectError } from "./resource-service/errors.js";

/** What the OperatorService reads. */
export interface OperatorDeps {
  raft: RaftNode;
  backend: Backend;
  config: NodeConfig;
  urlOf(id: string): string | undefined;
}

function notLeader(raft: RaftNode): ConnectError {
  const leader = raft.leader;
  return new ConnectError(
    leader === undefined
      ? "no leader is known right now; retry"
      : `this node is not the leader; ask ${leader}`,
    Code.FailedPrecondition,
  );
}

/** The OperatorService routes: status, members, leadership transfer, snapshot save. */
export function createOperatorRoutes(deps: OperatorDeps): (router: ConnectRouter) => void {
  const { raft, backend } = deps;
  return (router) => {
    router.service(OperatorService, {
      status() {
        const stats = raft.stats();
        return {
          id: stats.id,
          state: stats.state,
          term: BigInt(stats.term),
          leader: stats.leader ?? "",
          commitIndex: BigInt(stats.commitIndex),
          appliedIndex: BigInt(stats.appliedIndex),
          lastIndex: BigInt(stats.lastIndex),
          snapshotIndex: BigInt(stats.snapshotIndex),
          peers: Object.entries(stats.peers).map(([id, peer]) => ({
            id,
            matchIndex: BigInt(peer.match),
            lag: BigInt(Math.max(0, stats.lastIndex - peer.match)),
            replicationState: peer.state,
            active: peer.recentActive,
          })),
          resources: BigInt(backend.store.size),
          watches: BigInt(backend.store.watchCount),
          url: deps.urlOf(stats.id) ?? "",
        };
      },
      listMembers() {
        return {
          members: [...deps.config.initialCluster.keys()].sort().map((id) => ({
            id,
            url: deps.urlOf(id) ?? "",
            voter: true,
          })),
        };
      },
      async transferLeadership(req) {
        if (raft.state !== "leader") throw notLeader(raft);
        try {
          const leader = await raft.transferLeadership(req.to === "" ? undefined : req.to);
          return { leader };
        } catch (error) {
          throw new ConnectError(
            `leadership transfer failed: ${(error as Error).message}`,
            Code.Unavailable,
            undefined,
            undefined,
            error,
          );
        }
      },
      async *snapshotSave(_req, ctx) {
        try {
          // A consistent point in time: everything acknowledged before the request is in it.
          const index = await raft.readIndex({ signal: ctx.signal });
          const chunks = encodeStoreSnapshot(backend.store, {
            index: BigInt(index),
            term: BigInt(raft.term),
          });
          for await (const chunk of chunks) yield { chunk };
        } catch (error) {
          throw toConnectError(error, ctx.signal);
        }
      },
    });
  };
}
