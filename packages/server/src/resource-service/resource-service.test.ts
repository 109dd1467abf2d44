import { setTimeout } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InmemBackend } from "@raftstore/inmem";
import {
  type ID,
  outcomeHeader,
  ReadConsistency,
  type Resource,
  StatusSchema,
} from "@raftstore/proto";
import {
  type Backend,
  type IncarnationDeletingBackend,
  InconsistentError,
  NotFoundError,
  type OverwritingBackend,
  ReadConsistency as StorageConsistency,
} from "@raftstore/storage";
import { afterEach, describe, expect, it } from "vitest";
import { serviceClient } from "../test-support/service-client.js";

const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
const tenancy = { partition: "default", namespace: "default" };
const id = (name: string, uid = "") => ({ name, uid, type, tenancy });

const backends: InmemBackend[] = [];
afterEach(() => {
  for (const b of backends.splice(0)) b.close();
});

function setup(options: Parameters<typeof serviceClient>[1] = {}) {
  const backend = new InmemBackend();
  backends.push(backend);
  return { backend, client: serviceClient(backend, options) };
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("ResourceService.Write", () => {
  it("assigns a ULID uid on create and a new generation on every write", async () => {
    const { client } = setup();
    const created = must(
      (await client.write({ resource: { id: id("web", "chosen-by-caller") } })).resource,
    );
    expect(created?.id?.uid).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created?.id?.uid).not.toBe("chosen-by-caller");
    expect(created?.generation).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const updated = must((await client.write({ resource: { ...created, version: "" } })).resource);
    expect(updated?.id?.uid).toBe(created?.id?.uid);
    expect(updated?.generation).not.toBe(created?.generation);
    expect(updated?.version).not.toBe(created?.version);
  });

  it("fills empty tenancy fields with default", async () => {
    const { client } = setup();
    const written = await client.write({ resource: { id: { name: "web", type } } });
    expect(written.resource?.id?.tenancy).toMatchObject({
      partition: "default",
      namespace: "default",
    });
  });

  it("treats a write without a version as a blanket write, and one with a version as a CAS", async () => {
    const { client } = setup();
    const v1 = must((await client.write({ resource: { id: id("web") } })).resource);
    const stale = { ...v1, metadata: { a: "1" } };
    await client.write({ resource: { ...v1, version: "", metadata: { b: "2" } } });
    expect(await codeOf(client.write({ resource: stale }))).toBe(Code.Aborted);
    const blanket = await client.write({ resource: { ...stale, version: "" } });
    expect(blanket.resource?.metadata).toEqual({ a: "1" });
  });

  it("retries a blanket write until it wins against concurrent writers", async () => {
    const { client } = setup();
    await client.write({ resource: { id: id("web") } });
    const writes = Array.from({ length: 4 }, (_, i) =>
      client.write({ resource: { id: id("web"), metadata: { writer: String(i) } } }),
    );
    const results = await Promise.all(writes);
    expect(new Set(results.map((r) => r.resource?.version)).size).toBe(4);
  });

  it("rejects a stale uid with FailedPrecondition", async () => {
    const { client } = setup();
    const first = must((await client.write({ resource: { id: id("web") } })).resource);
    await client.delete({ id: first?.id, version: first?.version ?? "" });
    await client.write({ resource: { id: id("web") } });
    expect(await codeOf(client.write({ resource: { ...first, version: "" } }))).toBe(
      Code.FailedPrecondition,
    );
  });

  it("validates names, tenancy and types as lowercase DNS labels and identifiers", async () => {
    const { backend, client } = setup();
    for (const bad of [
      id("Web"),
      id("a".repeat(64)),
      id("-web"),
      { ...id("web"), tenancy: { partition: "Default", namespace: "default" } },
      { ...id("web"), type: { ...type, kind: "" } },
      { ...id("web"), type: { ...type, groupVersion: "" } },
    ]) {
      expect(await codeOf(client.write({ resource: { id: bad } }))).toBe(Code.InvalidArgument);
    }
    expect(await codeOf(client.write({}))).toBe(Code.InvalidArgument);
    expect(
      backend.store.list(
        { group: "demo", kind: "Artist" },
        { partition: "*", namespace: "*" } as never,
        "",
      ),
    ).toHaveLength(0);
  });

  it("refuses a resource larger than the limit, saying how large it is", async () => {
    const { client } = setup({ maxResourceBytes: 1000 });
    const error = await client
      .write({ resource: { id: id("big"), metadata: { blob: "x".repeat(2000) } } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toMatch(/larger than the limit of 1000 bytes/);
  });

  it("keeps the owner and refuses to change it; rejects statuses on Write", async () => {
    const { client } = setup();
    const owner = must((await client.write({ resource: { id: id("owner") } })).resource);
    const child = must(
      (await client.write({ resource: { id: id("child"), owner: { ...must(owner.id), uid: "" } } }))
        .resource,
    );
    expect(child?.owner?.uid).toBe(owner?.id?.uid);
    const updated = await client.write({ resource: { id: id("child") } });
    expect(updated.resource?.owner?.uid).toBe(owner?.id?.uid);
    expect(
      await codeOf(client.write({ resource: { id: id("child"), owner: id("other", "x") } })),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        client.write({ resource: { id: id("s"), status: { c: { observedGeneration: "x" } } } }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(client.write({ resource: { id: id("orphan"), owner: id("missing") } })),
    ).toBe(Code.InvalidArgument);
  });
});

/**
 * A backend over an in-memory one that counts strong reads and compare-and-swaps, can let
 * another writer bump a key right before each of the next `racesToLose` swaps (the swap then
 * loses), and can serve eventual reads of one key from a lagging copy.
 */
function instrumented(inner: InmemBackend) {
  const counts = { strongReads: 0, swaps: 0 };
  const knobs: {
    racesToLose: number;
    recreations: number;
    lagging: Resource | undefined;
    missingHere: string | undefined;
  } = { racesToLose: 0, recreations: 0, lagging: undefined, missingHere: undefined };
  /** With `recreations`, another writer deletes the key's resource and makes a new one. */
  const maybeRecreate = async (key: ID) => {
    if (knobs.recreations === 0) return;
    knobs.recreations--;
    const current = await inner.read(StorageConsistency.Strong, { ...key, uid: "" });
    await inner.deleteCAS(current.id as ID, current.version);
    const uid = `01J0000000000000000000000${knobs.recreations}`;
    await inner.writeCAS({ ...current, id: { ...(current.id as ID), uid }, version: "" });
  };
  const backend: Backend = {
    async read(consistency, readId, options) {
      if (consistency === StorageConsistency.Strong) counts.strongReads++;
      const lagging = knobs.lagging;
      if (consistency === StorageConsistency.Eventual && lagging?.id?.name === readId.name) {
        return lagging;
      }
      if (consistency === StorageConsistency.Eventual && knobs.missingHere === readId.name) {
        throw new NotFoundError();
      }
      return inner.read(consistency, readId, options);
    },
    async writeCAS(resource, options) {
      counts.swaps++;
      await maybeRecreate(resource.id as ID);
      if (knobs.racesToLose > 0) {
        knobs.racesToLose--;
        const current = await inner.read(StorageConsistency.Strong, resource.id as ID);
        await inner.writeCAS({ ...current, metadata: { writer: "someone else" } });
      }
      return inner.writeCAS(resource, options);
    },
    async deleteCAS(deleteId, version, options) {
      counts.swaps++;
      if (knobs.racesToLose > 0) {
        knobs.racesToLose--;
        const current = await inner.read(StorageConsistency.Strong, deleteId);
        await inner.writeCAS({ ...current, metadata: { writer: "someone else" } });
      }
      return inner.deleteCAS(deleteId, version, options);
    },
    list: (consistency, listType, listTenancy, prefix, options) =>
      inner.list(consistency, listType, listTenancy, prefix, options),
    listByOwner: (owner, options) => inner.listByOwner(owner, options),
    watchList: (watchType, watchTenancy, prefix) =>
      inner.watchList(watchType, watchTenancy, prefix),
  };
  return { backend, counts, knobs, maybeRecreate };
}

/**
 * The same, able to overwrite: each overwrite counts, stays in flight for a few milliseconds
 * (`mostAtOnce` is the most in flight at once), and with `racesToLose` first lets another
 * writer set a status on the key (the overwrite then fails).
 */
function instrumentedOverwriting(inner: InmemBackend) {
  const { backend, counts: casCounts, knobs, maybeRecreate } = instrumented(inner);
  const counts = Object.assign(casCounts, { overwrites: 0, mostAtOnce: 0 });
  let inFlight = 0;
  const overwriting: OverwritingBackend = {
    ...backend,
    async overwrite(resource, options) {
      counts.overwrites++;
      counts.mostAtOnce = Math.max(counts.mostAtOnce, ++inFlight);
      try {
        await setTimeout(5);
        await maybeRecreate(resource.id as ID);
        if (knobs.racesToLose > 0) {
          knobs.racesToLose--;
          const current = await inner.read(StorageConsistency.Strong, resource.id as ID);
          const status = create(StatusSchema, { observedGeneration: current.generation });
          await inner.writeCAS({ ...current, status: { "someone.else/ctl": status } });
        }
        return await inner.overwrite(resource, options);
      } finally {
        inFlight--;
      }
    },
  };
  return { backend: overwriting, counts, knobs };
}

/**
 * A service over an instrumented in-memory backend, with resource "web" written and the
 * counts then reset; `writeWeb` is a blanket write of "web" with metadata `{ me: "1" }`.
 */
async function setupInstrumented() {
  const inner = setup().backend;
  const { backend, counts, knobs } = instrumented(inner);
  const client = serviceClient(backend);
  const web = must((await client.write({ resource: { id: id("web") } })).resource);
  counts.strongReads = 0;
  counts.swaps = 0;
  const writeWeb = async () =>
    must((await client.write({ resource: { id: id("web"), metadata: { me: "1" } } })).resource);
  const writeWebStatus = async () => {
    const status = { observedGeneration: web.generation, conditions: [] };
    return must((await client.writeStatus({ id: web.id, key: "consul.io/ctl", status })).resource);
  };
  return { inner, client, counts, knobs, web, writeWeb, writeWebStatus };
}

describe("ResourceService.Delete without a version", () => {
  /** A service whose backend deletes incarnations, after another writer wrote a new version. */
  async function deleting() {
    const inner = setup().backend;
    const { backend, counts } = instrumented(inner);
    const deletes: ID[] = [];
    const withIncarnations: IncarnationDeletingBackend = {
      ...backend,
      async deleteIncarnation(target, options) {
        deletes.push(target);
        const current = await inner.read(StorageConsistency.Strong, { ...target, uid: "" });
        await inner.writeCAS({ ...current, metadata: { writer: "someone else" } });
        return inner.deleteIncarnation(target, options);
      },
    };
    const client = serviceClient(withIncarnations);
    const web = must((await client.write({ resource: { id: id("web") } })).resource);
    counts.strongReads = 0;
    counts.swaps = 0;
    return { client, counts, deletes, web };
  }

  it("deletes the incarnation a strong read finds, whatever its version by the time it is applied", async () => {
    const { client, counts, deletes, web } = await deleting();
    await client.delete({ id: id("web") });
    expect(await codeOf(client.read({ id: id("web") }))).toBe(Code.NotFound);
    expect(counts).toEqual({ strongReads: 1, swaps: 0 });
    expect(deletes.map((d) => d.uid)).toEqual([web.id?.uid]);
    // Nothing stored: no delete is sent.
    await client.delete({ id: id("web") });
    expect(deletes).toHaveLength(1);
  });

  it("needs no read when the caller names the incarnation, and leaves another one alone", async () => {
    const { client, counts, deletes, web } = await deleting();
    await client.delete({ id: { ...id("web"), uid: "01HZZZZZZZZZZZZZZZZZZZZZZZ" } });
    expect(must((await client.read({ id: id("web") })).resource).id?.uid).toBe(web.id?.uid);
    await client.delete({ id: web.id });
    expect(await codeOf(client.read({ id: id("web") }))).toBe(Code.NotFound);
    expect(counts.strongReads).toBe(0);
    expect(deletes).toHaveLength(2);
  });

  it("on a backend without deleteIncarnation, swaps the version a strong read finds, again after a lost race", async () => {
    const { client, counts, knobs } = await setupInstrumented();
    knobs.racesToLose = 1;
    await client.delete({ id: id("web") });
    expect(await codeOf(client.read({ id: id("web") }))).toBe(Code.NotFound);
    expect(counts).toEqual({ strongReads: 2, swaps: 2 });
  });
});

describe("ResourceService.Write after a lost compare-and-swap", () => {
  it("writes a blanket write again, over the new incarnation, when the resource was deleted and made again under it", async () => {
    const { counts, knobs, web, writeWeb } = await setupInstrumented();
    knobs.recreations = 1;
    const written = await writeWeb();
    expect(written.metadata).toEqual({ me: "1" });
    expect(written.id?.uid).not.toBe(web.id?.uid);
    // Rebuilt on this node's copy, which already holds the new incarnation.
    expect(counts).toEqual({ strongReads: 0, swaps: 2 });
  });

  it("builds a blanket write on the local copy again when the copy holds the winner", async () => {
    const { counts, knobs, writeWeb } = await setupInstrumented();
    knobs.racesToLose = 1;
    expect((await writeWeb()).metadata).toEqual({ me: "1" });
    // The lost swap, then one built on the winner's version, with no round to the leader.
    expect(counts).toEqual({ strongReads: 0, swaps: 2 });
  });

  it("asks the leader when the local copy has not moved since the lost swap", async () => {
    const { inner, counts, knobs, web, writeWeb } = await setupInstrumented();
    await inner.writeCAS({ ...web, metadata: { writer: "elsewhere" } });
    knobs.lagging = web;
    expect((await writeWeb()).metadata).toEqual({ me: "1" });
    expect(counts).toEqual({ strongReads: 1, swaps: 2 });
  });

  it("asks the leader when the write built on the moved copy loses too", async () => {
    const { counts, knobs, writeWeb } = await setupInstrumented();
    knobs.racesToLose = 2;
    expect((await writeWeb()).metadata).toEqual({ me: "1" });
    expect(counts).toEqual({ strongReads: 1, swaps: 3 });
  });

  it("judges a compare-and-swap with a version on the leader's view, never on the local copy", async () => {
    const { inner, client, counts, knobs, web } = await setupInstrumented();
    const v2 = await inner.writeCAS({ ...web, metadata: { writer: "elsewhere" } });
    knobs.lagging = web;
    const written = must(
      (await client.write({ resource: { ...v2, metadata: { me: "1" } } })).resource,
    );
    expect(written.metadata).toEqual({ me: "1" });
    // The local copy's version differs: no swap is tried on it; the strong read decides.
    expect(counts).toEqual({ strongReads: 1, swaps: 1 });
  });

  it("runs one node's concurrent blanket writes of a key in turn: none loses its swap", async () => {
    const { inner, client, counts } = await setupInstrumented();
    await client.write({ resource: { id: id("other") } });
    counts.swaps = 0;
    const writes = Array.from({ length: 10 }, (_, i) =>
      client.write({
        resource: { id: id(i % 5 === 4 ? "other" : "web"), metadata: { i: `${i}` } },
      }),
    );
    const written = await Promise.all(writes);
    expect(counts).toEqual({ strongReads: 0, swaps: 10 });
    // In the order they came, each on the version the one before wrote.
    const webVersions = written
      .filter((_, i) => i % 5 !== 4)
      .map((w) => Number(w.resource?.version));
    expect(webVersions).toEqual([...webVersions].sort((a, b) => a - b));
    expect((await inner.read(StorageConsistency.Eventual, id("web") as ID)).metadata).toEqual({
      i: "8",
    });
  });

  it("asks the leader when the local copy has not seen the resource yet", async () => {
    const { counts, knobs, writeWebStatus } = await setupInstrumented();
    knobs.missingHere = "web";
    expect(Object.keys((await writeWebStatus()).status)).toEqual(["consul.io/ctl"]);
    expect(counts).toEqual({ strongReads: 1, swaps: 1 });
  });

  it("sets a blanket status on the winner's version without a round to the leader", async () => {
    const { counts, knobs, writeWebStatus } = await setupInstrumented();
    knobs.racesToLose = 1;
    const written = await writeWebStatus();
    expect(written.metadata).toEqual({ writer: "someone else" });
    expect(Object.keys(written.status)).toEqual(["consul.io/ctl"]);
    expect(counts).toEqual({ strongReads: 0, swaps: 2 });
  });
});

describe("ResourceService.Write on a backend that can overwrite", () => {
  async function setupOverwriting() {
    const inner = setup().backend;
    const { backend, counts, knobs } = instrumentedOverwriting(inner);
    const client = serviceClient(backend);
    const web = must((await client.write({ resource: { id: id("web") } })).resource);
    const write = async (metadata: Record<string, string>, version = "") =>
      must((await client.write({ resource: { id: id("web"), metadata, version } })).resource);
    return { inner, client, counts, knobs, web, write };
  }

  it("creates with a compare-and-swap, then updates with overwrites", async () => {
    const { counts, web, write } = await setupOverwriting();
    expect(counts).toMatchObject({ swaps: 1, overwrites: 0 });
    const written = await write({ me: "1" });
    expect(written.metadata).toEqual({ me: "1" });
    expect(written.id?.uid).toBe(web.id?.uid);
    expect(counts).toMatchObject({ strongReads: 0, swaps: 1, overwrites: 1 });
    // A write with a version stays a compare-and-swap.
    await write({ me: "2" }, written.version);
    expect(counts).toMatchObject({ swaps: 2, overwrites: 1 });
  });

  it("writes a blanket write again, over the new incarnation, when the resource was deleted and made again under it", async () => {
    const { client, counts, knobs, web, write } = await setupOverwriting();
    // Twice: the write built on this node's copy and the one built on a strong read both lose.
    knobs.recreations = 2;
    const written = await write({ me: "1" });
    expect(written.metadata).toEqual({ me: "1" });
    expect(written.id?.uid).not.toBe(web.id?.uid);
    expect(counts).toMatchObject({ overwrites: 3 });
    // A write with a version is the caller's compare-and-swap: it fails, and is not retried.
    knobs.recreations = 1;
    expect(await codeOf(write({ me: "2" }, written.version))).toBe(Code.Aborted);
    expect(must((await client.read({ id: id("web") })).resource).metadata).toEqual({ me: "1" });
  });

  it("lets blanket writes that race to create a key all succeed: one creates it, the others update it", async () => {
    const { client } = setup();
    const written = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.write({ resource: { id: id("new"), metadata: { i: `${i}` } } }),
      ),
    );
    expect(new Set(written.map((w) => w.resource?.id?.uid)).size).toBe(1);
    expect(new Set(written.map((w) => w.resource?.version)).size).toBe(8);
  });

  it("runs one node's concurrent blanket writes of a key at once, each in one write", async () => {
    const { inner, counts, write } = await setupOverwriting();
    const written = await Promise.all(Array.from({ length: 10 }, (_, i) => write({ i: `${i}` })));
    expect(counts).toMatchObject({ strongReads: 0, swaps: 1, overwrites: 10 });
    expect(counts.mostAtOnce).toBeGreaterThan(1);
    const stored = await inner.read(StorageConsistency.Eventual, id("web") as ID);
    const last = written.find((w) => w.version === stored.version);
    expect(last?.metadata).toEqual(stored.metadata);
  });

  it("builds on the new status when another writer set one first", async () => {
    const { counts, knobs, write } = await setupOverwriting();
    knobs.racesToLose = 1;
    const written = await write({ me: "1" });
    expect(written.metadata).toEqual({ me: "1" });
    expect(Object.keys(written.status)).toEqual(["someone.else/ctl"]);
    // The refused overwrite, then one built on the local copy, which holds the status.
    expect(counts).toMatchObject({ strongReads: 0, overwrites: 2 });
  });
});

describe("ResourceService.WriteStatus", () => {
  it("sets one controller's status, keeps the generation and changes the version", async () => {
    const fixed = new Date("2026-01-02T03:04:05Z");
    const { client } = setup({ now: () => fixed });
    const res = must((await client.write({ resource: { id: id("web") } })).resource);
    const status = {
      observedGeneration: res?.generation ?? "",
      conditions: [{ type: "Ready", state: 1, reason: "OK" }],
    };
    const written = must((await client.writeStatus({ id: res?.id, key: "ctl", status })).resource);
    expect(written?.generation).toBe(res?.generation);
    expect(written?.version).not.toBe(res?.version);
    expect(written?.status.ctl?.updatedAt?.seconds).toBe(BigInt(fixed.getTime() / 1000));
    expect(
      await codeOf(client.writeStatus({ id: res?.id, key: "ctl", status, version: res?.version })),
    ).toBe(Code.Aborted);
  });

  it("requires a uid, a key, a ULID observed generation and typed conditions", async () => {
    const { client } = setup();
    const res = must((await client.write({ resource: { id: id("web") } })).resource);
    const ok = { observedGeneration: res?.generation ?? "" };
    expect(await codeOf(client.writeStatus({ id: id("web"), key: "k", status: ok }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(client.writeStatus({ id: res?.id, key: "", status: ok }))).toBe(
      Code.InvalidArgument,
    );
    expect(
      await codeOf(
        client.writeStatus({ id: res?.id, key: "k", status: { observedGeneration: "no" } }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        client.writeStatus({
          id: res?.id,
          key: "k",
          status: { ...ok, conditions: [{ type: "" }] },
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        client.writeStatus({ id: { ...must(res.id), uid: "other" }, key: "k", status: ok }),
      ),
    ).toBe(Code.NotFound);
  });
});

describe("ResourceService.Read, Delete and List", () => {
  it("reads with either consistency and maps a group version mismatch to InvalidArgument", async () => {
    const { client } = setup();
    await client.write({ resource: { id: id("web") } });
    for (const consistency of [ReadConsistency.EVENTUAL, ReadConsistency.STRONG]) {
      const read = await client.read({ id: id("web"), consistency });
      expect(read.resource?.id?.name).toBe("web");
    }
    expect(
      await codeOf(client.read({ id: { ...id("web"), type: { ...type, groupVersion: "v2" } } })),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf(client.read({ id: id("missing") }))).toBe(Code.NotFound);
    expect(await codeOf(client.read({ id: id("web"), consistency: 7 as ReadConsistency }))).toBe(
      Code.InvalidArgument,
    );
  });

  it("deletes idempotently, with or without a version and uid", async () => {
    const { client } = setup();
    const res = must((await client.write({ resource: { id: id("web") } })).resource);
    expect(await codeOf(client.delete({ id: id("web"), version: "nope" }))).toBe(Code.Aborted);
    await client.delete({ id: id("web") });
    await client.delete({ id: id("web") });
    await client.delete({ id: res?.id, version: res?.version ?? "" });
    expect(await codeOf(client.read({ id: id("web") }))).toBe(Code.NotFound);
  });

  it("lists one group version, or all of them when none is given", async () => {
    const { client } = setup();
    await client.write({ resource: { id: id("a1") } });
    await client.write({
      resource: { id: { ...id("a2"), type: { ...type, groupVersion: "v2" } } },
    });
    const v1 = await client.list({ type, tenancy, namePrefix: "a" });
    expect(v1.resources.map((r) => r.id?.name)).toEqual(["a1"]);
    const all = await client.list({
      type: { ...type, groupVersion: "" },
      tenancy: { partition: "*", namespace: "*" },
    });
    expect(all.resources.map((r) => r.id?.name).sort()).toEqual(["a1", "a2"]);
    expect(await codeOf(client.list({ type, tenancy, namePrefix: "A" }))).toBe(
      Code.InvalidArgument,
    );
  });

  it("lists by owner, and requires the owner's uid", async () => {
    const { client } = setup();
    const owner = must((await client.write({ resource: { id: id("owner") } })).resource);
    await client.write({ resource: { id: id("child"), owner: owner?.id } });
    const owned = await client.listByOwner({ owner: owner?.id });
    expect(owned.resources.map((r) => r.id?.name)).toEqual(["child"]);
    expect(await codeOf(client.listByOwner({ owner: id("owner") }))).toBe(Code.InvalidArgument);
  });
});

describe("ResourceService.WatchList", () => {
  it("streams the snapshot, end of snapshot and changes, and ends with Aborted on a restore", async () => {
    const { backend, client } = setup();
    await client.write({ resource: { id: id("before") } });
    const controller = new AbortController();
    const stream = client.watchList({ type, tenancy }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const next = async () => (await iterator.next()).value?.event?.event;
    expect((await next())?.case).toBe("upsert");
    expect((await next())?.case).toBe("endOfSnapshot");
    await client.write({ resource: { id: id("after") } });
    const upsert = await next();
    expect(upsert?.case === "upsert" && upsert.value.resource?.id?.name).toBe("after");

    const restoration = backend.store.restore();
    restoration.commit();
    const error = await iterator.next().catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Aborted);
  });

  it("ends a watch its deadline cuts short with DeadlineExceeded, not as if it were done", async () => {
    const { client } = setup();
    // The deadline travels as the protocol's header only, so that the client does not end the
    // call itself: what the client sees is what the server answered.
    const stream = client.watchList({ type, tenancy }, { headers: { "connect-timeout-ms": "50" } });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const message of stream) seen.push(String(message.event?.event.case));
    })().catch((e: unknown) => ConnectError.from(e));
    expect(seen).toEqual(["endOfSnapshot"]);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
  });
});

describe("a change that failed with Unavailable", () => {
  /** A service whose backend fails every change (and, if `reads`, every strong read) with `error`. */
  async function failing(error: () => Error, reads = false) {
    const inner = setup().backend;
    const web = must((await serviceClient(inner).write({ resource: { id: id("web") } })).resource);
    const backend: IncarnationDeletingBackend = {
      ...inner,
      read: async (consistency, readId, options) => {
        if (reads && consistency === StorageConsistency.Strong) throw error();
        return inner.read(consistency, readId, options);
      },
      list: inner.list.bind(inner),
      listByOwner: inner.listByOwner.bind(inner),
      watchList: inner.watchList.bind(inner),
      writeCAS: async () => {
        throw error();
      },
      deleteCAS: async () => {
        throw error();
      },
      deleteIncarnation: async () => {
        throw error();
      },
    };
    const client = serviceClient(backend);
    const status = { observedGeneration: web.generation, conditions: [] };
    const calls = {
      write: () => client.write({ resource: { id: id("web"), metadata: { a: "1" } } }),
      writeStatus: () => client.writeStatus({ id: web.id, key: "ctl", status }),
      delete: () => client.delete({ id: id("web") }),
    };
    const outcomes: Record<string, string | null> = {};
    for (const [name, call] of Object.entries(calls)) {
      const failure = await call().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(failure?.code).toBe(Code.Unavailable);
      outcomes[name] = failure?.metadata.get(outcomeHeader) ?? null;
    }
    return outcomes;
  }

  const lost = () =>
    new InconsistentError("leadership lost: term 3 ended; the outcome is unknown", {
      cause: Object.assign(new Error("leadership lost"), { name: "LeadershipLostError" }),
    });

  it("says its outcome is unknown when the leader was lost after it was sent", async () => {
    expect(await failing(lost)).toEqual({
      write: "unknown",
      writeStatus: "unknown",
      delete: "unknown",
    });
  });

  it("says nothing when it certainly did nothing: no leader, or dropped before it was appended", async () => {
    const noLeader = () => Object.assign(new InconsistentError("no leader"), { noLeader: true });
    expect(await failing(noLeader)).toEqual({ write: null, writeStatus: null, delete: null });
    const dropped = () =>
      new InconsistentError("proposal dropped: too many bytes in flight", {
        cause: Object.assign(new Error("dropped"), { name: "ProposalDroppedError" }),
      });
    expect(await failing(dropped)).toEqual({ write: null, writeStatus: null, delete: null });
  });

  it("says nothing when a read before it failed: nothing was sent", async () => {
    const outcomes = await failing(lost, true);
    // A delete without a version reads strongly first; the read is what failed.
    expect(outcomes.delete).toBeNull();
  });
});
