import type { ServerResponse } from "node:http";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { RaftNode } from "@raftstore/raft";
import type { NodeMetrics } from "./metrics.js";

export /** How far behind the commit index a node may apply and still be ready. */
const readyLagEntries = 1000;

export type Fallback = NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]>;

/**
 * The plain HTTP endpoints next to the RPC services:
 * - `/healthz`: the process serves requests (200), for liveness probes;
 * - `/readyz`: the node knows a leader and has applied what the leader told it is committed,
 *   give or take `readyLagEntries` (200, else 503), for load balancers: a node that cannot
 *   reach a leader cannot serve writes or strong reads, and one that is still catching up (a
 *   restarted node replaying its log) would serve stale eventual reads;
 * - `/metrics`: Prometheus text format.
 */
export function createHttpFallback(deps: { raft: RaftNode; metrics: NodeMetrics }): Fallback {
  const fallback: Fallback = (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      (res as ServerResponse).writeHead(status, { "content-type": type });
      res.end(body);
    };
    const known = path === "/healthz" || path === "/readyz" || path === "/metrics";
    if (known && req.method !== "GET" && req.method !== "HEAD") {
      send(405, "text/plain; charset=utf-8", "method not allowed\n");
      return;
    }
    switch (path) {
      case "/healthz":
        send(200, "text/plain; charset=utf-8", "ok\n");
        return;
      case "/readyz": {
        const stats = deps.raft.stats();
        const lag = Math.max(0, stats.commitIndex - stats.appliedIndex);
        const ready = stats.leader !== undefined && stats.commitIndex > 0 && lag <= readyLagEntries;
        send(
          ready ? 200 : 503,
          "application/json",
          `${JSON.stringify({
            ready,
            id: stats.id,
            state: stats.state,
            leader: stats.leader ?? null,
            term: stats.term,
            commitIndex: stats.commitIndex,
            appliedIndex: stats.appliedIndex,
            applyLag: lag,
          })}\n`,
        );
        return;
      }
      case "/metrics":
        deps.metrics.render().then(
          (text) => send(200, deps.metrics.contentType, text),
          (error: unknown) => send(500, "text/plain; charset=utf-8", `${String(error)}\n`),
        );
        return;
      default:
        // An unknown RPC method also ends here: gRPC clients read 404 as Unimplemented.
        send(404, "text/plain; charset=utf-8", `no such endpoint: ${path}\n`);
    }
  };
  return fallback;
}
