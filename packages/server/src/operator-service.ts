import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { outcomeHeader } from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import type { RaftNode } from "@raftstore/raft";
import { type Backend, encodeStoreSnapshot } from "@raftstore/raft-backend";
import { inspectSnapshot, isSnapshotFormatError } from "@raftstore/snapshot";
import type { NodeConfig } from "./config.js";
import { toConnectError } from "./resource-service/errors.js";

/** What the OperatorService reads. */
export interface OperatorDeps {
  raft: RaftNode;
  backend: Backend;
  config: NodeConfig;
  urlOf(id: string): string | undefined;
  /** The cluster this node belongs to. */
  clusterId: string;
  /** TLS material for calls to the leader (a follower forwards a restore). */
  http2Options?: ConstructorParameters<typeof GuardedSessionManager>[2];
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

/**
 * The OperatorService routes: status, members, leadership transfer, snapshot save and restore
 * (a follower forwards a restore to the leader).
 */
export function createOperatorRoutes(deps: OperatorDeps): (router: ConnectRouter) => void {
  const { raft, backend } = deps;

  /** A follower hands the verified snapshot to the leader, which runs the restore. */
  async function forwardRestore(chunks: Uint8Array[], signal: AbortSignal) {
    const leader = raft.leader;
    const url = leader === undefined ? undefined : deps.urlOf(leader);
    if (leader === undefined || url === undefined || leader === raft.id) throw notLeader(raft);
    const sessions = new GuardedSessionManager(url, undefined, deps.http2Options);
    try {
      const client = createClient(
        OperatorService,
        createGrpcTransport({ baseUrl: url, sessionManager: sessions }),
      );
      return await client.snapshotRestore(
        (async function* () {
          for (const chunk of chunks) yield { chunk };
        })(),
        { signal },
      );
    } catch (error) {
      throw forwardedRestoreError(error, leader);
    } finally {
      sessions.abort();
    }
  }

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
          storeBytes: BigInt(backend.store.bytes),
          quotaBytes: BigInt(deps.config.quotaBytes),
          url: deps.urlOf(stats.id) ?? "",
          clusterId: deps.clusterId,
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
      async snapshotRestore(requests, ctx) {
        // The whole file is read and verified (every checksum, the count) before anything is
        // proposed: a damaged backup is refused here, not discovered half way through the log.
        const chunks: Uint8Array[] = [];
        for await (const request of requests) chunks.push(request.chunk);
        let count: number;
        try {
          count = (await inspectSnapshot(chunks)).count;
        } catch (error) {
          if (!isSnapshotFormatError(error)) throw error;
          throw new ConnectError(
            `the snapshot is damaged, nothing was restored: ${error.message}`,
            Code.InvalidArgument,
          );
        }
        if (raft.state !== "leader") return forwardRestore(chunks, ctx.signal);
        try {
          const index = await raft.restore(
            (async function* () {
              yield* chunks;
            })(),
            { signal: ctx.signal },
          );
          return { resources: BigInt(count), index: BigInt(index) };
        } catch (error) {
          throw restoreError(error);
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
          throw toConnectError(error, ctx);
        }
      },
    });
  };
}

/**
 * What a forwarded restore's failure becomes. The leader's refusals (a damaged or refused
 * snapshot: InvalidArgument) and its "outcome unknown" answers pass as they are. Anything else
 * may be the connection failing after the whole snapshot went out (connect-node reports a reset
 * stream as Aborted, as the leader reports a restore already running): the leader may have
 * restored it, so the caller is told the outcome is unknown rather than that it failed.
 */
function forwardedRestoreError(error: unknown, leader: string): ConnectError {
  const failure = ConnectError.from(error);
  if (failure.code === Code.InvalidArgument || failure.metadata.get(outcomeHeader) === "unknown") {
    return failure;
  }
  return new ConnectError(
    `the restore was handed to the leader ${leader}, and its answer did not arrive intact (it may or may not have taken effect; check with a read): ${failure.message}`,
    Code.Unavailable,
    new Headers({ [outcomeHeader]: "unknown" }),
    undefined,
    failure,
  );
}

/** Restore failures a client can act on, with their codes. */
function restoreError(error: unknown): ConnectError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  switch (name) {
    case "RestoreInProgressError":
      return new ConnectError(`another restore is in progress: ${message}`, Code.Aborted);
    case "RestoreRejectedError":
      return new ConnectError(`the snapshot was refused: ${message}`, Code.InvalidArgument);
    case "NotLeaderError":
    case "LeadershipLostError":
    case "ShutdownError":
    case "TimeoutError":
      return new ConnectError(
        `the restore did not complete (it may or may not have taken effect; check with a read): ${message}`,
        Code.Unavailable,
        new Headers({ [outcomeHeader]: "unknown" }),
      );
    default:
      return ConnectError.from(error, Code.Internal);
  }
}
