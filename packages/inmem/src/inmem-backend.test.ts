import type { ID, Resource, WatchEvent } from "@raftstore/proto";
import {
  isCASFailureError,
  isInconsistentError,
  isInvalidArgumentError,
  isQuotaExceededError,
  isWatchClosedError,
  ReadConsistency,
} from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { InmemBackend } from "./inmem-backend.js";
import { artist, defaultTenancy, everywhere, idOf, resource } from "./test-support/resources.js";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function resourceOf(event: WatchEvent): Resource | undefined {
  const e = event.event;
  return e.case === "upsert" || e.case === "delete" ? e.value.resource : undefined;
}

describe("InmemBackend", () => {
  it("hands out versions from a counter taken before the CAS check, so failures leave gaps", async () => {
    const backend = new InmemBackend();
    const v1 = await backend.writeCAS(resource("web"));
    expect(isCASFailureError(await rejection(backend.writeCAS(resource("web"))))).toBe(true);
    const v2 = await backend.writeCAS(v1);
    expect([v1.version, v2.version]).toEqual(["1", "3"]);
  });

  it("takes no version for malformed input", async () => {
    const backend = new InmemBackend();
    const bad = { ...resource("web"), version: 3 } as unknown as Resource;
    expect(isInvalidArgumentError(await rejection(backend.writeCAS(bad)))).toBe(true);
    expect((await backend.writeCAS(resource("web"))).version).toBe("1");
  });

  it("lets exactly one of many concurrent writers of one version win, round after round", async () => {
    const backend = new InmemBackend();
    let current = await backend.writeCAS(resource("contended"));
    const watch = await backend.watchList(artist, defaultTenancy, "");
    await watch.next();
    await watch.next();
    for (let round = 0; round < 20; round++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) =>
          backend.writeCAS({ ...current, metadata: { writer: String(i) } }),
        ),
      );
      const winners = outcomes.filter((o) => o.status === "fulfilled");
      expect(winners).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === "rejected") expect(isCASFailureError(o.reason)).toBe(true);
      }
      current = (winners[0] as PromiseFulfilledResult<Resource>).value;
      expect(resourceOf(await watch.next())).toBe(current);
    }
    watch.close();
  });

  it("keeps concurrent writers of different keys apart and loses none of their writes", async () => {
    const backend = new InmemBackend();
    const chains = Array.from({ length: 8 }, async (_, k) => {
      let current = await backend.writeCAS(resource(`key-${k}`));
      for (let i = 0; i < 50; i++) {
        await Promise.resolve();
        current = await backend.writeCAS({ ...current, metadata: { step: String(i) } });
      }
      return current;
    });
    const finals = await Promise.all(chains);
    const listed = await backend.list(ReadConsistency.Strong, artist, everywhere, "key-");
    expect(listed).toEqual(finals);
    expect(backend.store.eventIndex).toBe(8 * 51);
  });

  it("ends a watch that falls more than maxWatchLag events behind, and only that one", async () => {
    const backend = new InmemBackend({ maxWatchLag: 10 });
    const stalled = await backend.watchList(artist, everywhere, "");
    const keeping = await backend.watchList(artist, everywhere, "");
    await stalled.next();
    await keeping.next();
    for (let i = 0; i < 20; i++) {
      await backend.writeCAS(resource(`r${i}`));
      expect(resourceOf(await keeping.next())?.id?.name).toBe(`r${i}`);
    }
    expect(isWatchClosedError(await rejection(stalled.next()))).toBe(true);
    expect(stalled.ended).toBe(true);
    expect(keeping.ended).toBe(false);
    expect(backend.store.watchCount).toBe(1);
    keeping.close();
  });

  it("answers an unknown consistency with InconsistentError", async () => {
    const backend = new InmemBackend();
    const unknown = "linearizable-ish" as ReadConsistency;
    expect(isInconsistentError(await rejection(backend.read(unknown, idOf("web"))))).toBe(true);
    expect(
      isInconsistentError(await rejection(backend.list(unknown, artist, everywhere, ""))),
    ).toBe(true);
  });

  it("rejects with the signal's reason when it is already aborted, and changes nothing", async () => {
    const backend = new InmemBackend();
    const reason = new Error("caller gave up");
    const signal = AbortSignal.abort(reason);
    const calls = [
      backend.read(ReadConsistency.Eventual, idOf("web"), { signal }),
      backend.writeCAS(resource("web"), { signal }),
      backend.deleteCAS(idOf("web"), "1", { signal }),
      backend.list(ReadConsistency.Eventual, artist, everywhere, "", { signal }),
      backend.listByOwner(idOf("web"), { signal }),
      backend.watchList(artist, everywhere, "", { signal }),
    ];
    for (const call of calls) expect(await rejection(call)).toBe(reason);
    expect(backend.store.size).toBe(0);
    expect(backend.store.watchCount).toBe(0);
    expect((await backend.writeCAS(resource("web"))).version).toBe("1");
  });

  it("never hands out a version again that a restore brought back", async () => {
    const backend = new InmemBackend();
    await backend.writeCAS(resource("web"));
    const restoration = backend.restore();
    restoration.apply(resource("restored", { version: "41" }));
    restoration.apply(resource("opaque", { version: "v-99" }));
    expect(restoration.size).toBe(2);
    restoration.commit();
    const written = await backend.writeCAS(resource("new"));
    expect(written.version).toBe("42");
    const restored = await backend.read(ReadConsistency.Strong, idOf("restored"));
    expect((await backend.writeCAS(restored)).version).toBe("43");
  });

  it("keeps its counter when a restore is aborted", async () => {
    const backend = new InmemBackend();
    const restoration = backend.restore();
    restoration.apply(resource("restored", { version: "1000" }));
    restoration.abort();
    expect((await backend.writeCAS(resource("web"))).version).toBe("1");
  });

  it("ends every watch on close()", async () => {
    const backend = new InmemBackend();
    const watch = await backend.watchList(artist, everywhere, "");
    backend.close();
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
  });

  it("serves strong and eventual reads alike: one process is trivially linearizable", async () => {
    const backend = new InmemBackend();
    let current = await backend.writeCAS(resource("web"));
    for (let i = 0; i < 5; i++) {
      current = await backend.writeCAS(current);
      expect(await backend.read(ReadConsistency.Strong, current.id as ID)).toBe(current);
      expect(await backend.read(ReadConsistency.Eventual, current.id as ID)).toBe(current);
    }
  });

  it("refuses, past quotaBytes, a write that would grow the store, and lets through deletes and writes that do not", async () => {
    const blob = (bytes: number) => ({
      data: { typeUrl: "demo/blob", value: new Uint8Array(bytes) },
    });
    const backend = new InmemBackend({ quotaBytes: 10_000 });
    const a = await backend.writeCAS(resource("a", blob(4000)));
    const before = backend.store.bytes;
    // 4,000 + 5,000 bytes of data, and 700 of overhead each: past 10,000.
    const refused = await rejection(backend.writeCAS(resource("b", blob(5000))));
    expect(isQuotaExceededError(refused), String(refused)).toBe(true);
    expect((refused as Error).message).toContain("past its quota of 0.0 MiB (10000 bytes)");
    expect(
      isQuotaExceededError(await rejection(backend.overwrite(resource("a", blob(9600))))),
    ).toBe(true);
    expect(backend.store.size).toBe(1);
    expect(backend.store.bytes).toBe(before);
    // The refusals took no version.
    const smaller = await backend.writeCAS(resource("a", { ...blob(100), version: a.version }));
    expect(smaller.version).toBe("2");
    await backend.writeCAS(resource("b", blob(5000)));
    await backend.deleteCAS(idOf("a"), smaller.version);
    expect(backend.store.size).toBe(1);
  });

  it("lets through, over its quota, writes that do not grow the store", async () => {
    const blob = (bytes: number) => ({
      data: { typeUrl: "demo/blob", value: new Uint8Array(bytes) },
    });
    const backend = new InmemBackend({ quotaBytes: 5_000 });
    // A restore can leave the store over its quota.
    const restoration = backend.restore();
    restoration.apply({ ...resource("a", blob(8000)), version: "7" });
    restoration.commit();
    const same = await backend.writeCAS(resource("a", { ...blob(8000), version: "7" }));
    expect(isQuotaExceededError(await rejection(backend.writeCAS(resource("b", blob(10)))))).toBe(
      true,
    );
    await backend.overwrite(resource("a", blob(2000)));
    expect(backend.store.bytes).toBeLessThan(5_000);
    expect(same.version).toBe("8");
    await backend.writeCAS(resource("b", blob(10)));
  });

  it("takes quotaBytes only as a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1"]) {
      let refusal: unknown;
      try {
        new InmemBackend({ quotaBytes: bad as number });
      } catch (error) {
        refusal = error;
      }
      expect(isInvalidArgumentError(refusal), String(bad)).toBe(true);
      expect((refusal as { field?: string }).field).toBe("options.quotaBytes");
    }
  });
});
