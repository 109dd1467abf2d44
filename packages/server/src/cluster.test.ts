import { rm } from "node:fs/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  IDSchema,
  quotaExceededHeader,
  ReadConsistency,
  ResourceSchema,
  StatusSchema,
} from "@raftstore/proto";
import { LogSchema, LogType } from "@raftstore/proto/storage/v1";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "./test-support/cluster.js";

const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
const tenancy = { partition: "default", namespace: "default" };
const id = (name: string) => ({ name, type, tenancy });

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe("a 3-node cluster in one process", () => {
  it("takes a write through a follower and serves it strongly from every node", async () => {
    cluster = await startTestCluster();
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    const other = (leader + 2) % 3;
    const written = await eventually(() =>
      (cluster as TestCluster).client(follower).write({ resource: { id: id("web") } }),
    );
    expect(written.resource?.version).not.toBe("");
    for (const i of [other, leader, follower]) {
      const read = await cluster
        .client(i)
        .read({ id: id("web"), consistency: ReadConsistency.STRONG });
      expect(read.resource?.version).toBe(written.resource?.version);
    }
    // The Connect protocol with JSON over HTTP/1.1 reaches the same API on the same port.
    const json = await cluster
      .jsonClient(other)
      .read({ id: id("web"), consistency: ReadConsistency.STRONG });
    expect(json.resource?.generation).toBe(written.resource?.generation);
  });

  it("keeps serving after a follower restarts, and the restarted node catches up", async () => {
    cluster = await startTestCluster();
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    await eventually(() =>
      (cluster as TestCluster).client(leader).write({ resource: { id: id("a") } }),
    );
    await cluster.stop(follower);
    for (let i = 0; i < 20; i++) {
      await cluster.client(leader).write({ resource: { id: id(`b${i}`) } });
    }
    await cluster.start(follower);
    await eventually(async () => {
      const list = await (cluster as TestCluster)
        .client(follower)
        .list({ type, tenancy, consistency: ReadConsistency.EVENTUAL });
      expect(list.resources).toHaveLength(21);
    });
  });

  it("elects a new leader when the leader stops, and keeps its acknowledged writes", async () => {
    cluster = await startTestCluster();
    const leader = await cluster.leader();
    const written = await eventually(() =>
      (cluster as TestCluster).client(leader).write({ resource: { id: id("kept") } }),
    );
    await cluster.stop(leader);
    const survivor = (leader + 1) % 3;
    const read = await eventually(() =>
      (cluster as TestCluster)
        .client(survivor)
        .read({ id: id("kept"), consistency: ReadConsistency.STRONG }),
    );
    expect(read.resource?.version).toBe(written.resource?.version);
    await eventually(() =>
      (cluster as TestCluster).client(survivor).write({ resource: { id: id("after") } }),
    );
  });

  it("holds a write and a strong read while no leader can be elected, and serves them once one is", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    const [follower, other] = [(leader + 1) % 3, (leader + 2) % 3];
    const written = await eventually(() =>
      c.client(leader).write({ resource: { id: id("kept") } }),
    );
    await Promise.all([c.stop(leader), c.stop(other)]);
    const raft = c.nodes[follower]?.raft;
    while (raft?.leader !== undefined) await new Promise((r) => setTimeout(r, 20));
    const settled: string[] = [];
    const read = c
      .client(follower)
      .read({ id: id("kept"), consistency: ReadConsistency.STRONG })
      .finally(() => settled.push("read"));
    const write = c
      .client(follower)
      .write({ resource: { id: id("during") } })
      .finally(() => settled.push("write"));
    // No quorum, so no leader: without the hold both would have failed with Unavailable by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toEqual([]);
    await c.start(other);
    expect((await read).resource?.version).toBe(written.resource?.version);
    expect((await write).resource?.id?.name).toBe("during");
  });

  it("stops a follower restarted on an emptied data directory at the leader's first heartbeat, and says what to do", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    const follower = (leader + 1) % 3;
    for (const name of ["a", "b", "c"]) {
      await eventually(() => c.client(leader).write({ resource: { id: id(name) } }));
    }
    await eventually(async () => {
      const status = await c.operator(follower).status({});
      if (status.appliedIndex < (c.nodes[leader]?.raft.stats().commitIndex ?? 0)) {
        throw new Error("the follower has not caught up yet");
      }
    });
    await c.stop(follower);
    await rm(c.configs[follower]?.dataDir as string, { recursive: true, force: true });
    const lines: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => lines.push(line) });
    const restarted = await c.start(follower, logger);
    await restarted.stopped;
    const logged = lines.map(
      (line) => JSON.parse(line) as { msg: string; err?: { message: string } },
    );
    expect(logged.map((l) => l.err?.message ?? "").join("\n")).toContain(
      "lost entries it had persisted",
    );
    expect(logged.map((l) => l.msg).join("\n")).toContain(
      "Do not start this --id again with an empty --data-dir",
    );
    // The other two still serve writes.
    await c.client(leader).write({ resource: { id: id("after") } });
  });

  it("stops a node at a log entry of a newer version, which it cannot apply as its writer meant, and says why", async () => {
    cluster = await startTestCluster({ size: 1 });
    const c = cluster;
    await c.leader();
    await c.stop(0);
    const lines: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => lines.push(line) });
    const node = await c.start(0, logger);
    await eventually(async () => {
      if (node.raft.state !== "leader") throw new Error("not leading yet");
    });
    // A delete with a field 9 in its Log: a request of a version after this one.
    const log = toBinary(
      LogSchema,
      create(LogSchema, {
        type: LogType.DELETE,
        request: { case: "delete", value: { id: id("x") } },
      }),
    );
    const applied = node.raft.apply(new Uint8Array([...log, 0x48, 0x01])).catch((e: unknown) => e);
    await node.stopped;
    await applied;
    const logged = lines.map((line) => JSON.parse(line) as { err?: { message: string } });
    expect(logged.map((l) => l.err?.message ?? "").join("\n")).toContain(
      "carries fields this version of raftstore does not know",
    );
  });

  it("refuses a resource or status with fields it does not know, and keeps a request's other unknown fields out of the log", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    const follower = (leader + 1) % 3;
    const unknown = (no: number) => [{ no, wireType: 0, data: new Uint8Array([1]) }];
    const withUnknown = <T extends object>(message: T, no: number): T =>
      Object.assign(message, { $unknown: unknown(no) });
    const resource = create(ResourceSchema, { id: withUnknown(create(IDSchema, id("u")), 99) });
    for (const node of [leader, follower]) {
      const error = ConnectError.from(
        await c
          .client(node)
          .write({ resource: withUnknown(resource, 98) })
          .catch((e: unknown) => e),
      );
      expect(Code[error.code]).toBe("InvalidArgument");
      expect(error.rawMessage).toContain(
        "resource carries fields this server does not know (resource: field 98, resource.id: field 99)",
      );
    }
    const written = (await c.client(follower).write({ resource: { id: id("u") } })).resource;
    if (written === undefined) throw new Error("no resource written");
    const status = withUnknown(create(StatusSchema, { observedGeneration: written.generation }), 5);
    const refused = await c
      .client(follower)
      .writeStatus({ id: written.id, key: "ctl", status })
      .catch((e: unknown) => ConnectError.from(e));
    expect(refused instanceof ConnectError && refused.rawMessage).toMatch(
      /^invalid argument: status carries fields/,
    );
    // Unknown fields in a delete's id (its type): a log entry carrying them would stop every
    // node, which takes an entry with unknown fields for a newer version's. They are left out.
    const deleted = create(IDSchema, id("u"));
    withUnknown(deleted.type as object, 97);
    await c.client(follower).delete({ id: deleted });
    await c.client(leader).write({ resource: { id: id("after") } });
    expect(c.nodes.every((n) => n?.raft.state === "leader" || n?.raft.state === "follower")).toBe(
      true,
    );
    await expect(
      c.client(leader).read({ id: id("u"), consistency: ReadConsistency.STRONG }),
    ).rejects.toThrow(/not found/);
  });

  it("does not start a node on the data directory of another member", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    await c.leader();
    await Promise.all([c.stop(0), c.stop(2)]);
    const n3 = c.configs[2] as (typeof c.configs)[number];
    (n3 as { dataDir: string }).dataDir = c.configs[0]?.dataDir as string;
    const error = await c.start(2).catch((e: unknown) => e);
    expect((error as Error).name).toBe("NodeStartError");
    expect((error as Error).message).toMatch(
      /belongs to member n1, and this node was started as n3/,
    );
    // The directory is untouched and n1 starts on it again.
    await c.start(0);
    await c.leader();
  });

  it("lets a node first started with a wrong --initial-cluster join once started with the right one", async () => {
    // n3 joins late, and its first start has a typo in n1's address.
    cluster = await startTestCluster({ startNow: [0, 1] });
    const c = cluster;
    const leader = await c.leader();
    await eventually(() => c.client(leader).write({ resource: { id: id("before") } }));
    const config = c.configs[2] as (typeof c.configs)[number];
    const right = config.initialCluster;
    const setList = (list: ReadonlyMap<string, string>) => {
      (config as { initialCluster: ReadonlyMap<string, string> }).initialCluster = list;
    };
    setList(new Map([...right, ["n1", "127.0.0.1:1"]]));
    const first = await c.start(2);
    expect(first.raft.stats().lastIndex).toBe(1);
    await c.stop(2);
    // Started again with the right list, it joins: its directory held nothing yet.
    setList(right);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    await c.start(2, logger);
    await eventually(() =>
      c.client(2).read({ id: id("before"), consistency: ReadConsistency.EVENTUAL }),
    );
    expect(lines.join("\n")).toMatch(/holds no history yet/);
  });

  it("refuses a node started on another cluster's data directory: it never takes this cluster's log for its own", async () => {
    // Cluster A writes, and stops; its directories stay.
    const a = await startTestCluster();
    const aLeader = await a.leader();
    for (const name of ["a1", "a2", "a3"]) {
      await eventually(() => a.client(aLeader).write({ resource: { id: id(name) } }));
    }
    await eventually(async () => {
      const status = await a.operator(2).status({});
      if (status.appliedIndex < (a.nodes[aLeader]?.raft.stats().commitIndex ?? 0)) {
        throw new Error("n3 of cluster A has not caught up yet");
      }
    });
    for (const i of [0, 1, 2]) await a.stop(i);
    try {
      // Cluster B writes as much, so both logs have entries at the same indexes and terms.
      cluster = await startTestCluster();
      const b = cluster;
      const bLeader = await b.leader();
      for (const name of ["b1", "b2", "b3"]) {
        await eventually(() => b.client(bLeader).write({ resource: { id: id(name) } }));
      }
      const wrong = bLeader === 2 ? 1 : 2;
      await b.stop(wrong);
      // The mistake: B's node is started on A's data directory of the same id.
      const config = b.configs[wrong] as (typeof b.configs)[number];
      (config as { dataDir: string }).dataDir = a.configs[wrong]?.dataDir as string;
      const lines: string[] = [];
      const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
      const node = await b.start(wrong, logger);
      // Its peers refuse its streams and it refuses theirs: it never follows B's leader...
      await eventually(async () => {
        const metrics = await (await fetch(`http://${b.configs[bLeader]?.listen}/metrics`)).text();
        if (!/raftstore_transport_rejected_streams_total\{reason="cluster"\} [1-9]/.test(metrics)) {
          throw new Error("B's leader has not refused the node's streams yet");
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(node.raft.leader).toBeUndefined();
      expect(node.raft.stats().commitIndex).toBeLessThanOrEqual(
        a.nodes[wrong]?.raft.stats().commitIndex ?? Number.POSITIVE_INFINITY,
      );
      // ...so it serves no strong read: without the check it answered with A's resources.
      const strong = await b
        .client(wrong)
        .read({ id: id("a1"), consistency: ReadConsistency.STRONG }, { timeoutMs: 1000 })
        .catch((e: unknown) => ConnectError.from(e));
      expect(strong).toBeInstanceOf(ConnectError);
      expect(lines.join("\n")).toMatch(/another cluster/);
      // B goes on with its two nodes, its own data intact.
      await b.client(bLeader).write({ resource: { id: id("b4") } });
      const listed = await b.client(bLeader).list({ type, tenancy, namePrefix: "" });
      expect(listed.resources.map((r) => r.id?.name).sort()).toEqual(["b1", "b2", "b3", "b4"]);
    } finally {
      await a.close();
    }
  });

  it("reports status and members through the OperatorService", async () => {
    cluster = await startTestCluster();
    const leader = await cluster.leader();
    const status = await cluster.operator(leader).status({});
    expect(status.state).toBe("leader");
    expect(status.peers).toHaveLength(2);
    // Every member names the same cluster: its data directory's.
    expect(status.clusterId).toMatch(/^[0-9a-f]{16}$/);
    const other = await cluster.operator((leader + 1) % 3).status({});
    expect(other.clusterId).toBe(status.clusterId);
    const members = await cluster.operator((leader + 1) % 3).listMembers({});
    expect(members.members.map((m) => m.id)).toEqual(["n1", "n2", "n3"]);
  });
});

describe("bad requests", () => {
  it("get the right code, and the node keeps serving", async () => {
    cluster = await startTestCluster({ flags: { maxResourceBytes: "4096" } });
    const leader = await cluster.leader();
    const url = `http://127.0.0.1:${cluster.configs[leader]?.listen.split(":")[1]}`;
    const post = (path: string, body: string | Uint8Array, contentType = "application/json") =>
      fetch(`${url}${path}`, { method: "POST", headers: { "content-type": contentType }, body });

    const badJson = await post("/raftstore.resource.v1.ResourceService/Write", "{not json");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { code: string }).code).toBe("invalid_argument");

    const badProto = await post(
      "/raftstore.resource.v1.ResourceService/Write",
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
      "application/proto",
    );
    const badProtoError = (await badProto.json()) as { code: string; message: string };
    expect(badProtoError.code).toBe("invalid_argument");
    expect(badProtoError.message).toMatch(/cannot decode the request/);

    // Connect JSON decodes with protobuf-es, which alone would drop a metadata key "__proto__"
    // and store the rest: refused here as on the gRPC path, and nothing is stored.
    const protoKey = await post(
      "/raftstore.resource.v1.ResourceService/Write",
      JSON.stringify({
        resource: {
          id: { name: "json-proto", type, tenancy },
          metadata: { team: "storage" },
        },
      }).replace('"team"', '"__proto__":"x","team"'),
    );
    expect(protoKey.status).toBe(400);
    const protoKeyError = (await protoKey.json()) as { code: string; message: string };
    expect(protoKeyError.code).toBe("invalid_argument");
    expect(protoKeyError.message).toMatch(/metadata cannot have the key "__proto__"/);

    // A misspelt key is refused, not dropped: "verison" must not make a compare-and-swap a
    // blanket write that overwrites what is stored.
    const misspelt = await post(
      "/raftstore.resource.v1.ResourceService/Write",
      JSON.stringify({ resource: { id: { name: "json-proto", type, tenancy }, verison: "1" } }),
    );
    expect(misspelt.status).toBe(400);
    const misspeltError = (await misspelt.json()) as { code: string; message: string };
    expect(misspeltError.code).toBe("invalid_argument");
    expect(misspeltError.message).toMatch(/verison/);

    const absent = await post(
      "/raftstore.resource.v1.ResourceService/Read",
      JSON.stringify({ id: { name: "json-proto", type, tenancy } }),
    );
    expect(((await absent.json()) as { code: string }).code).toBe("not_found");

    const unknown = await post("/raftstore.resource.v1.ResourceService/Explode", "{}");
    expect(unknown.status).toBe(404);

    const oversized = await cluster
      .client(leader)
      .write({ resource: { id: id("big"), metadata: { blob: "x".repeat(10_000) } } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((oversized as ConnectError).code).toBe(Code.InvalidArgument);

    // A metadata key "__proto__" cannot be kept (protobuf-es maps drop it on decode): a gRPC
    // write with one is refused, through a follower too, rather than stored without it.
    const withProto = create(ResourceSchema, { id: id("proto") });
    withProto.metadata = Object.defineProperty({}, "__proto__", { value: "x", enumerable: true });
    const refused = await cluster
      .client((leader + 1) % 3)
      .write({ resource: withProto })
      .catch((e: unknown) => ConnectError.from(e));
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).rawMessage).toMatch(
      /metadata cannot have the key "__proto__"/,
    );

    // A watch the client cancels after its snapshot: counted when its stream ends.
    const cancel = new AbortController();
    const watch = cluster
      .client(leader)
      .watchList({ type, tenancy }, { signal: cancel.signal })
      [Symbol.asyncIterator]();
    while ((await watch.next()).value?.event?.event.case !== "endOfSnapshot") {}
    cancel.abort();
    await watch.next().catch(() => undefined);

    const health = await fetch(`${url}/healthz`);
    expect(await health.text()).toBe("ok\n");
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      if (!text.includes('method="ResourceService.WatchList"')) throw new Error("not yet");
      return text;
    });
    expect(metrics).toMatch(
      /raftstore_rpc_requests_total\{method="ResourceService.WatchList",code="canceled"\} 1/,
    );
    expect(metrics).toMatch(/raftstore_raft_term \d+/);
    // Writes were made and no snapshot has let them go yet: the log holds their bytes.
    expect(Number(metrics.match(/raftstore_raft_log_bytes (\d+)/)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(
      /raftstore_rpc_requests_total\{method="ResourceService.Write",code="InvalidArgument"\}/,
    );
    expect(metrics).toMatch(/raftstore_disk_sync_duration_seconds_bucket/);
    // A leader has sent appends and heartbeats to its followers and heard back from them.
    const peer = cluster.configs[(leader + 1) % 3]?.id as string;
    const sentAppends = metrics.match(
      new RegExp(
        `raftstore_transport_sent_messages_total\\{peer="${peer}",type="append"\\} (\\d+)`,
      ),
    );
    expect(Number(sentAppends?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(
      new RegExp(
        `raftstore_transport_received_messages_total\\{peer="${peer}",type="appendResponse"\\} [1-9]`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(`raftstore_transport_sent_bytes_total\\{peer="${peer}"\\} [1-9]`),
    );

    const ok = await eventually(() =>
      (cluster as TestCluster).client(leader).write({ resource: { id: id("fine") } }),
    );
    expect(ok.resource?.id?.name).toBe("fine");

    // Plain gRPC unary calls take the lean path, which counts them without an interceptor: each
    // call once, under its code.
    const readsNotFound = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const count = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? 0);
      return [
        count(
          /raftstore_rpc_requests_total\{method="ResourceService.Read",code="NotFound"\} (\d+)/,
        ),
        count(/raftstore_rpc_duration_seconds_count\{method="ResourceService.Read"\} (\d+)/),
      ];
    };
    const [before, timedBefore] = await readsNotFound();
    const client = (cluster as TestCluster).client(leader);
    for (let i = 0; i < 3; i++) {
      await client.read({ id: id("never-written") }).catch(() => undefined);
    }
    expect(await readsNotFound()).toEqual([before + 3, timedBefore + 3]);
  });

  it("refuses a write that would grow the store past --quota-bytes with ResourceExhausted, through any node, and lets deletes through", async () => {
    cluster = await startTestCluster({ flags: { quotaBytes: "20000" } });
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    const blob = (name: string, bytes: number) => ({
      resource: { id: id(name), metadata: { blob: "x".repeat(bytes) } },
    });
    const first = await cluster.client(follower).write(blob("first", 12_000));
    const url = `http://${cluster.configs[follower]?.listen}`;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/raftstore_store_quota_bytes 20000\n/);
    const storeBytes = Number(metrics.match(/raftstore_store_bytes (\d+)/)?.[1]);
    expect(storeBytes).toBeGreaterThan(12_000);
    const status = await cluster.operator(follower).status({});
    expect([status.storeBytes, status.quotaBytes]).toEqual([BigInt(storeBytes), 20_000n]);
    // gRPC (the lean unary path) and the Connect protocol (connect's adapter), leader and follower.
    for (const client of [cluster.client(follower), cluster.jsonClient(leader)]) {
      const error = await client.write(blob("second", 12_000)).catch((e: unknown) => e);
      const refused = ConnectError.from(error);
      expect(Code[refused.code]).toBe("ResourceExhausted");
      expect(refused.metadata.get(quotaExceededHeader)).toBe("1");
      expect(refused.rawMessage).toMatch(/past its quota of 0\.0 MiB \(20000 bytes\)/);
    }
    await expect(
      cluster.client(leader).read({ id: id("second"), consistency: ReadConsistency.STRONG }),
    ).rejects.toThrow(/not found/);
    // Deleting makes room.
    await cluster.client(follower).delete({ id: first.resource?.id, version: "" });
    const second = await cluster.client(follower).write(blob("second", 12_000));
    expect(second.resource?.id?.name).toBe("second");
  });

  it("takes blanket deletes and writes of one key from many clients through every node, none failing for the others", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    let stop = false;
    const failures: string[] = [];
    const failure = (what: string) => (e: unknown) => {
      const error = ConnectError.from(e);
      failures.push(`${what}: ${Code[error.code]} ${error.rawMessage}`);
    };
    // Writers create the key again after each delete, and update it in between.
    const writers = Array.from({ length: 6 }, async (_, i) => {
      while (!stop) {
        await c
          .client(i % 3)
          .write({ resource: { id: id("contended"), metadata: { writer: `${i}` } } })
          .catch(failure("write"));
      }
    });
    const deleters = Array.from({ length: 2 }, async (_, i) => {
      for (let n = 0; n < 25; n++) {
        await c
          .client((leader + 1 + i) % 3)
          .delete({ id: id("contended"), version: "" })
          .catch(failure("delete"));
      }
    });
    await Promise.all(deleters);
    stop = true;
    await Promise.all(writers);
    // A delete never loses to a write any more; a write may still run out of attempts
    // (Aborted) against so many deletes, but never fails for a uid it did not name.
    expect(failures.filter((f) => f.startsWith("delete"))).toEqual([]);
    expect(failures.filter((f) => !f.startsWith("write: Aborted"))).toEqual([]);
  });

  it("refuses a request far over the resource limit before reading it, and one just over it with the limit", async () => {
    cluster = await startTestCluster({ size: 1, flags: { maxResourceBytes: "2000" } });
    const node = await cluster.leader();
    const big = (bytes: number) => ({
      resource: { id: id("big"), metadata: { blob: "x".repeat(bytes) } },
    });
    const codeOf = (call: Promise<unknown>) =>
      call.then(
        () => "ok",
        (e: unknown) => Code[ConnectError.from(e).code],
      );
    // gRPC (the lean unary path) and the Connect protocol (connect's adapter) alike.
    for (const client of [cluster.client(node), cluster.jsonClient(node)]) {
      expect(await codeOf(client.write(big(3000)))).toBe("InvalidArgument");
      expect(await codeOf(client.write(big(8 * 1024 * 1024)))).toBe("ResourceExhausted");
      expect(await codeOf(client.write(big(100)))).toBe("ok");
    }
  });
});
