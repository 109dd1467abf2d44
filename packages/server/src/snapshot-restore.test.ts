import { Code, ConnectError } from "@connectrpc/connect";
import { ReadConsistency } from "@raftstore/proto";
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

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt > 200) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe("snapshot save and restore through the OperatorService", () => {
  it("restores a saved snapshot on every node, through a follower, and resets watches", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    const follower = (leader + 1) % 3;
    const other = (leader + 2) % 3;
    for (const name of ["a", "b", "c"]) {
      await retry(() => c.client(leader).write({ resource: { id: id(name) } }));
    }
    const chunks: Uint8Array[] = [];
    for await (const response of c.operator(follower).snapshotSave({})) chunks.push(response.chunk);

    // Changes after the backup: they must be gone after the restore.
    await c.client(leader).delete({ id: id("a") });
    await c.client(leader).write({ resource: { id: id("d") } });
    const watch = c.client(other).watchList({ type, tenancy })[Symbol.asyncIterator]();
    for (;;) {
      const next = await watch.next();
      if (next.value?.event?.event.case === "endOfSnapshot") break;
    }

    const restored = await c.operator(follower).snapshotRestore(
      (async function* () {
        for (const chunk of chunks) yield { chunk };
      })(),
    );
    expect(restored.resources).toBe(3n);

    for (const i of [leader, follower, other]) {
      await retry(async () => {
        const list = await c
          .client(i)
          .list({ type, tenancy, consistency: ReadConsistency.EVENTUAL });
        expect(list.resources.map((r) => r.id?.name).sort()).toEqual(["a", "b", "c"]);
      });
    }
    const ended = await (async () => {
      for (;;) await watch.next();
    })().catch((e: unknown) => ConnectError.from(e));
    expect(ended.code).toBe(Code.Aborted);
    // The cluster keeps taking writes after the restore.
    await retry(() => c.client(other).write({ resource: { id: id("after") } }));
  });

  it("refuses a damaged snapshot and changes nothing", async () => {
    cluster = await startTestCluster();
    const c = cluster;
    const leader = await c.leader();
    await retry(() => c.client(leader).write({ resource: { id: id("kept") } }));
    const chunks: Uint8Array[] = [];
    for await (const response of c.operator(leader).snapshotSave({})) chunks.push(response.chunk);
    const damaged = Buffer.concat(chunks);
    damaged[damaged.length - 20] ^= 0x40;
    await c.client(leader).write({ resource: { id: id("newer") } });
    const error = await c
      .operator(leader)
      .snapshotRestore(
        (async function* () {
          yield { chunk: damaged };
        })(),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const list = await c
      .client(leader)
      .list({ type, tenancy, consistency: ReadConsistency.STRONG });
    expect(list.resources.map((r) => r.id?.name).sort()).toEqual(["kept", "newer"]);
  });
});
