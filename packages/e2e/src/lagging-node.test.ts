import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { ResourceService } from "@raftstore/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RaftstoreCluster, startRaftstoreCluster } from "./raftstore-cluster.js";
import { sleep } from "./wait.js";

// Writes through a node whose own copy lags the leader: it was restarted and has not applied
// the newest entries yet when the request arrives. The node may serve eventual
// reads from its stale copy, but a write's verdict must be the leader's: a compare-and-swap
// with the current version succeeds, and a blanket write of an existing key updates it.
// The fault tests found both failing under load (a spurious Aborted breaks linearizability,
// a spurious FailedPrecondition rejects a valid write); these reproduce them on their own.

const type = { group: "e2e", groupVersion: "v1", kind: "Lagging" };
const id = (name: string) => ({
  name,
  type,
  tenancy: { partition: "default", namespace: "default" },
});
const keys = ["a", "b", "c", "d"];

describe("a write through a node that has not applied the newest writes yet", () => {
  let cluster: RaftstoreCluster;
  const sessions: GuardedSessionManager[] = [];
  let client: (node: string) => Client<typeof ResourceService>;
  let leader: string;
  let follower: string;

  beforeAll(async () => {
    cluster = await startRaftstoreCluster({ settings: { tickMs: 50 } });
    const clients = new Map(
      cluster.members.map((m) => {
        const session = new GuardedSessionManager(m.url);
        sessions.push(session);
        return [
          m.id,
          createClient(
            ResourceService,
            createGrpcTransport({ baseUrl: m.url, sessionManager: session }),
          ),
        ];
      }),
    );
    client = (node) => clients.get(node) as Client<typeof ResourceService>;
    leader = await cluster.leader();
    follower = cluster.members.find((m) => m.id !== leader)?.id as string;
  }, 120_000);

  afterAll(async () => {
    for (const session of sessions) session.abort();
    await cluster?.close();
  }, 30_000);

  /**
   * Kills the follower, runs `whileDown` through the leader, restarts the follower and sends it
   * `requests` as soon as it serves: retrying Unavailable, as a client does, until it hears
   * from the leader, which is before it has applied what it missed.
   */
  async function sendToRestarted<T>(
    whileDown: () => Promise<T>,
    requests: (result: T) => Array<() => Promise<unknown>>,
  ): Promise<string[]> {
    await cluster.kill(follower);
    const result = await whileDown();
    await cluster.restart(follower);
    const outcomes = await Promise.allSettled(
      requests(result).map(async (request) => {
        for (;;) {
          try {
            return await request();
          } catch (error) {
            if (ConnectError.from(error).code !== Code.Unavailable) throw error;
            await sleep(5);
          }
        }
      }),
    );
    await cluster.waitForCaughtUp();
    return outcomes.map((o) => (o.status === "rejected" ? String(o.reason) : "ok"));
  }

  it("applies a compare-and-swap that names the current version", async () => {
    for (const key of keys) await client(leader).write({ resource: { id: id(`cas-${key}`) } });
    await cluster.waitForCaughtUp();
    const outcomes = await sendToRestarted(
      () =>
        Promise.all(
          keys.map((key) =>
            client(leader).write({ resource: { id: id(`cas-${key}`), metadata: { v: "2" } } }),
          ),
        ),
      (written) =>
        written.map(
          (w) => () =>
            client(follower).write({
              resource: { id: w.resource?.id, version: w.resource?.version, metadata: { v: "3" } },
            }),
        ),
    );
    expect(outcomes).toEqual(keys.map(() => "ok"));
  }, 60_000);

  it("updates a key created while it was down, rather than refusing it with a wrong uid", async () => {
    const outcomes = await sendToRestarted(
      () =>
        Promise.all(
          keys.map((key) => client(leader).write({ resource: { id: id(`new-${key}`) } })),
        ),
      () =>
        keys.map(
          (key) => () =>
            client(follower).write({
              resource: { id: id(`new-${key}`), metadata: { v: "again" } },
            }),
        ),
    );
    expect(outcomes).toEqual(keys.map(() => "ok"));
  }, 60_000);
});
