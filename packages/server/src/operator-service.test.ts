import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { Store } from "@raftstore/inmem";
import { outcomeHeader } from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import type { RaftNode } from "@raftstore/raft";
import { type Backend, encodeStoreSnapshot } from "@raftstore/raft-backend";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeConfig } from "./config.js";
import { createOperatorRoutes } from "./operator-service.js";

const servers: http2.Http2Server[] = [];
const sessions = new Set<http2.ServerHttp2Session>();
afterEach(async () => {
  for (const session of sessions) session.destroy();
  sessions.clear();
  for (const server of servers.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function listen(server: http2.Http2Server): Promise<string> {
  servers.push(server);
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A follower's OperatorService whose leader, n2, is served by `leader`. */
async function followerOf(leader: http2.Http2Server) {
  const leaderUrl = await listen(leader);
  const raft = { id: "n1", state: "follower", leader: "n2" } as unknown as RaftNode;
  const routes = createOperatorRoutes({
    raft,
    backend: {} as Backend,
    config: {} as NodeConfig,
    urlOf: (id) => (id === "n2" ? leaderUrl : undefined),
    clusterId: "test",
  });
  const url = await listen(http2.createServer(connectNodeAdapter({ routes })));
  return createClient(OperatorService, createGrpcTransport({ baseUrl: url }));
}

async function snapshotChunks(): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of encodeStoreSnapshot(new Store(), { index: 7n, term: 2n })) {
    chunks.push(chunk);
  }
  return chunks;
}

async function failureOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("a restore a follower hands to the leader", () => {
  it("says its outcome is unknown when the leader's answer is cut off after the upload", async () => {
    // The leader reads the whole snapshot, then the stream breaks before any answer.
    const leader = http2.createServer((request, response) => {
      request.resume();
      request.on("end", () => response.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    });
    const client = await followerOf(leader);
    const chunks = await snapshotChunks();
    const failure = await failureOf(
      client.snapshotRestore(
        (async function* () {
          for (const chunk of chunks) yield { chunk };
        })(),
      ),
    );
    expect(failure.code).toBe(Code.Unavailable);
    expect(failure.metadata.get(outcomeHeader)).toBe("unknown");
    expect(failure.rawMessage).toMatch(/handed to the leader n2.*may or may not have taken effect/);
  });

  it("passes the leader's own answers on as they are", async () => {
    let answer: ConnectError = new ConnectError("the snapshot was refused", Code.InvalidArgument);
    const leader = http2.createServer(
      connectNodeAdapter({
        routes: (router) =>
          router.service(OperatorService, {
            async snapshotRestore(requests) {
              for await (const _ of requests);
              throw answer;
            },
          }),
      }),
    );
    const client = await followerOf(leader);
    const chunks = await snapshotChunks();
    const restore = () =>
      failureOf(
        client.snapshotRestore(
          (async function* () {
            for (const chunk of chunks) yield { chunk };
          })(),
        ),
      );
    const refused = await restore();
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toBe("the snapshot was refused");
    expect(refused.metadata.get(outcomeHeader)).toBeNull();

    const unknown = { [outcomeHeader]: "unknown" };
    answer = new ConnectError("the restore did not complete", Code.Unavailable, unknown);
    const cut = await restore();
    expect(cut.code).toBe(Code.Unavailable);
    expect(cut.rawMessage).toBe("the restore did not complete");
    expect(cut.metadata.get(outcomeHeader)).toBe("unknown");
  });
});
