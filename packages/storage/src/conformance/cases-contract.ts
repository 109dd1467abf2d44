import { clone, create } from "@bufbuild/protobuf";
import {
  type ID,
  type Resource,
  ResourceSchema,
  StatusSchema,
  type Tenancy,
} from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { type Backend, ReadConsistency, type UnversionedType, type Watch } from "../backend.js";
import {
  isCASFailureError,
  isGroupVersionMismatchError,
  isInvalidArgumentError,
  isNotFoundError,
  isWatchClosedError,
  isWrongUidError,
} from "../errors.js";
import { expectRejection } from "./cases-cas.js";
import {
  resource,
  tenancyDefault,
  tenancyOther,
  typeAv1,
  typeAv2,
  typeB,
  withId,
  withResource,
} from "./fixtures.js";
import {
  comparable,
  eventKind,
  eventResource,
  eventually,
  expectDeepFrozen,
  expectElementsMatch,
  expectNextUpsert,
  expectResource,
  idOf,
  nextEvent,
} from "./helpers.js";
import type { SuiteContext } from "./suite.js";

export const typeA: UnversionedType = { group: "test", kind: "a" };
export const everywhere: Tenancy = { partition: "*", namespace: "*" } as Tenancy;

/** Opens a watch and consumes its (empty or stale) initial snapshot up to end-of-snapshot. */
export async function openAfterSnapshot(
  ctx: SuiteContext,
  backend: Backend,
  type: UnversionedType = typeA,
  tenancy: Tenancy = everywhere,
): Promise<Watch> {
  const watch = await backend.watchList(type, tenancy, "");
  for (;;) {
    if (eventKind(await nextEvent(ctx.timing, watch)) === "endOfSnapshot") return watch;
  }
}

/**
 * Waits until an eventual read on `backend` returns `res`, version included. A lagging replica
 * has then applied it, so a watch opened afterwards has it in its snapshot, not as a later event.
 */
export async function settled(ctx: SuiteContext, backend: Backend, res: Resource): Promise<void> {
  await eventually(ctx.timing, async () => {
    expectResource(await backend.read(ReadConsistency.Eventual, idOf(res)), res);
  });
}

/** The contract's promises that Consul's suite does not test. */
export function contractTests(ctx: SuiteContext): void {
  describe("Contract", () => {
    it(
      "WriteCAS does not mutate its input, and later changes to the input do not leak in",
      async () => {
        const backend = await ctx.newBackend();
        const input = resource(typeAv1, tenancyDefault, "web", { metadata: { k: "v" } });
        const before = clone(ResourceSchema, input);
        const written = await backend.writeCAS(input);
        expectResource(input, before);

        (input.id as { name: string }).name = "changed";
        input.metadata.k = "changed";
        expectResource(await backend.read(ReadConsistency.Strong, idOf(written)), written);
      },
      ctx.testTimeoutMs,
    );

    it(
      "returned resources and events are deeply frozen",
      async () => {
        const backend = await ctx.newBackend();
        using watch = await openAfterSnapshot(ctx, backend);
        const owner = await backend.writeCAS(resource(typeB, tenancyDefault, "owner"));
        const written = await backend.writeCAS(
          resource(typeAv1, tenancyDefault, "web", { owner: owner.id, metadata: { k: "v" } }),
        );
        expectDeepFrozen(written, "writeCAS result");
        expectDeepFrozen(await backend.read(ReadConsistency.Strong, idOf(written)), "read result");
        const list = await backend.list(ReadConsistency.Eventual, typeA, everywhere, "");
        for (const r of list) expectDeepFrozen(r, "list item");
        await eventually(ctx.timing, async () => {
          const owned = await backend.listByOwner(idOf(owner));
          expect(owned).toHaveLength(1);
          for (const r of owned) expectDeepFrozen(r, "listByOwner item");
        });
        expectDeepFrozen(eventResource(await nextEvent(ctx.timing, watch)), "watch event");
      },
      ctx.testTimeoutMs,
    );

    it(
      "the version changes on every write",
      async () => {
        const backend = await ctx.newBackend();
        let current = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const versions = new Set([current.version]);
        for (let i = 0; i < 5; i++) {
          current = await backend.writeCAS(current);
          versions.add(current.version);
        }
        expect(versions.size).toBe(6);
      },
      ctx.testTimeoutMs,
    );

    it(
      "failed and no-op operations publish no event",
      async () => {
        const backend = await ctx.newBackend();
        const existing = await backend.writeCAS(resource(typeAv1, tenancyDefault, "existing"));
        await settled(ctx, backend, existing);
        using watch = await openAfterSnapshot(ctx, backend);

        await expectRejection(
          backend.writeCAS(resource(typeAv1, tenancyDefault, "existing")),
          isCASFailureError,
          "CASFailureError",
        );
        await expectRejection(
          backend.writeCAS(withResource(existing, { version: "stale" })),
          isCASFailureError,
          "CASFailureError",
        );
        await expectRejection(
          backend.writeCAS(withResource(existing, { id: withId(existing.id, { uid: "other" }) })),
          isWrongUidError,
          "WrongUidError",
        );
        await expectRejection(
          backend.deleteCAS(idOf(existing), "stale"),
          isCASFailureError,
          "CASFailureError",
        );
        await backend.deleteCAS(withId(existing.id, { name: "missing" }), "1");
        await backend.deleteCAS(withId(existing.id, { uid: "other" }), existing.version);
        await backend.deleteCAS(withId(existing.id, { uid: "" }), existing.version);

        const marker = await backend.writeCAS(resource(typeAv1, tenancyDefault, "marker"));
        await expectNextUpsert(ctx.timing, watch, marker);
      },
      ctx.testTimeoutMs,
    );

    it(
      "EndOfSnapshot is sent for an empty snapshot",
      async () => {
        const backend = await ctx.newBackend();
        using watch = await backend.watchList(typeA, everywhere, "");
        expect(eventKind(await nextEvent(ctx.timing, watch))).toBe("endOfSnapshot");
      },
      ctx.testTimeoutMs,
    );

    it(
      "a status-only rewrite changes the version and publishes an upsert",
      async () => {
        const backend = await ctx.newBackend();
        const v1 = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        await settled(ctx, backend, v1);
        using watch = await openAfterSnapshot(ctx, backend);
        const status = create(StatusSchema, { observedGeneration: "01HZZZZZZZZZZZZZZZZZZZZZZZ" });
        const v2 = await backend.writeCAS(withResource(v1, { status: { controller: status } }));
        expect(v2.version).not.toBe(v1.version);
        await expectNextUpsert(ctx.timing, watch, v2);
      },
      ctx.testTimeoutMs,
    );

    it(
      "DeleteCAS with an empty uid is a no-op",
      async () => {
        const backend = await ctx.newBackend();
        const res = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        await backend.deleteCAS(withId(res.id, { uid: "" }), res.version);
        expectResource(await backend.read(ReadConsistency.Strong, idOf(res)), res);
      },
      ctx.testTimeoutMs,
    );

    it(
      "a write with another GroupVersion replaces the stored form",
      async () => {
        const backend = await ctx.newBackend();
        const v1 = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const v2 = await backend.writeCAS(
          withResource(v1, { id: withId(v1.id, { type: typeAv2 }) }),
        );
        expectResource(await backend.read(ReadConsistency.Strong, idOf(v2)), v2);
        const error = await backend.read(ReadConsistency.Strong, idOf(v1)).catch((e: unknown) => e);
        expect(isGroupVersionMismatchError(error), String(error)).toBe(true);
      },
      ctx.testTimeoutMs,
    );

    it(
      "ListByOwner ignores the owner's GroupVersion",
      async () => {
        const backend = await ctx.newBackend();
        const owner = await backend.writeCAS(resource(typeAv1, tenancyDefault, "owner"));
        const child = await backend.writeCAS(
          resource(typeB, tenancyDefault, "child", { owner: owner.id }),
        );
        await eventually(ctx.timing, async () => {
          const owned = await backend.listByOwner(withId(owner.id, { type: typeAv2 }));
          expectElementsMatch(owned, [child]);
        });
      },
      ctx.testTimeoutMs,
    );

    it(
      "a strong read returns every acknowledged write, version included",
      async () => {
        const backend = await ctx.newBackend();
        let current = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        for (let i = 0; i < 5; i++) {
          expectResource(await backend.read(ReadConsistency.Strong, idOf(current)), current);
          current = await backend.writeCAS(current);
        }
        await backend.deleteCAS(idOf(current), current.version);
        await expectRejection(
          backend.read(ReadConsistency.Strong, idOf(current)),
          isNotFoundError,
          "NotFoundError right after the delete",
        );
      },
      ctx.testTimeoutMs,
    );

    it(
      "of concurrent CAS writers on one version, exactly one succeeds",
      async () => {
        const backend = await ctx.newBackend();
        let current = await backend.writeCAS(resource(typeAv1, tenancyDefault, "contended"));
        for (let round = 0; round < 5; round++) {
          const attempts = Array.from({ length: 8 }, (_, i) =>
            backend.writeCAS(withResource(current, { metadata: { writer: String(i) } })),
          );
          const outcomes = await Promise.allSettled(attempts);
          const winners = outcomes.filter((o) => o.status === "fulfilled");
          expect(winners, `round ${round}: exactly one winner`).toHaveLength(1);
          for (const o of outcomes) {
            if (o.status === "rejected")
              expect(isCASFailureError(o.reason), String(o.reason)).toBe(true);
          }
          current = (winners[0] as PromiseFulfilledResult<Resource>).value;
          expectResource(await backend.read(ReadConsistency.Strong, idOf(current)), current);
        }
      },
      ctx.testTimeoutMs,
    );

    it(
      "a watch opened during a burst of writes sees every later change exactly once, in order",
      async () => {
        const backend = await ctx.newBackend();
        const keys = 4;
        const updatesPerKey = 25;
        let written = 0;
        let watchOpened!: () => void;
        const openWatchNow = new Promise<void>((resolve) => {
          watchOpened = resolve;
        });
        // One chain of sequential updates per key; the chains run concurrently.
        const chains = Array.from({ length: keys }, async (_, k) => {
          const versions: string[] = [];
          let current = await backend.writeCAS(resource(typeAv1, tenancyDefault, `burst-${k}`));
          versions.push(current.version);
          for (let i = 1; i < updatesPerKey; i++) {
            if (++written === Math.floor((keys * updatesPerKey) / 3)) watchOpened();
            current = await backend.writeCAS(
              withResource(current, { metadata: { step: String(i) } }),
            );
            versions.push(current.version);
          }
          return versions;
        });
        await openWatchNow;
        using watch = await backend.watchList(typeA, tenancyDefault, "burst-");
        const history = await Promise.all(chains);

        // Per key: the snapshot's version (if any), then every later version exactly once.
        const seen = new Map<string, string[]>();
        const done = () =>
          history.every((versions, k) => seen.get(`burst-${k}`)?.at(-1) === versions.at(-1));
        while (!done()) {
          const event = await nextEvent(ctx.timing, watch);
          if (eventKind(event) === "endOfSnapshot") continue;
          expect(eventKind(event)).toBe("upsert");
          const res = eventResource(event);
          const list = seen.get(idOf(res).name) ?? [];
          list.push(res.version);
          seen.set(idOf(res).name, list);
        }
        history.forEach((versions, k) => {
          const observed = seen.get(`burst-${k}`) ?? [];
          const start = versions.indexOf(observed[0] as string);
          expect(start, `burst-${k}: first observed version was written`).toBeGreaterThanOrEqual(0);
          expect(observed, `burst-${k}: no duplicate, no gap, in order`).toEqual(
            versions.slice(start),
          );
        });
      },
      ctx.testTimeoutMs,
    );

    it(
      "an AbortSignal ends a pending next() without losing the next event",
      async () => {
        const backend = await ctx.newBackend();
        using watch = await openAfterSnapshot(ctx, backend);
        const controller = new AbortController();
        const pending = watch.next({ signal: controller.signal });
        const reason = new Error("caller gave up");
        controller.abort(reason);
        await expect(pending).rejects.toBe(reason);

        const written = await backend.writeCAS(resource(typeAv1, tenancyDefault, "after-abort"));
        const event = await nextEvent(ctx.timing, watch);
        expectResource(eventResource(event), written);
      },
      ctx.testTimeoutMs,
    );

    it(
      "a closed watch rejects next() with WatchClosedError and ends iteration",
      async () => {
        const backend = await ctx.newBackend();
        const watch = await openAfterSnapshot(ctx, backend);
        const pending = watch.next();
        watch.close();
        await expectRejection(pending, isWatchClosedError, "WatchClosedError for a pending next()");
        await expectRejection(watch.next(), isWatchClosedError, "WatchClosedError after close()");
        watch.close();

        const iterated = await backend.watchList(typeA, everywhere, "");
        let events = 0;
        for await (const event of iterated) {
          events++;
          expect(eventKind(event)).toBe("endOfSnapshot");
          break;
        }
        expect(events).toBe(1);
        await expectRejection(iterated.next(), isWatchClosedError, "leaving the loop closes it");
      },
      ctx.testTimeoutMs,
    );

    it(
      "malformed input is rejected with InvalidArgumentError and changes nothing",
      async () => {
        const backend = await ctx.newBackend();
        const existing = await backend.writeCAS(resource(typeAv1, tenancyDefault, "existing"));
        await settled(ctx, backend, existing);
        using watch = await openAfterSnapshot(ctx, backend);
        const valid = resource(typeAv1, tenancyDefault, "web");
        const bad = <T = Resource>(value: unknown) => value as T;
        const badWrites: Array<[string, Resource]> = [
          ["no id", create(ResourceSchema, {})],
          ["no type", bad({ ...valid, id: { ...valid.id, type: undefined } })],
          ["no tenancy", bad({ ...valid, id: { ...valid.id, tenancy: undefined } })],
          ["empty name", withResource(valid, { id: withId(valid.id, { name: "" }) })],
          ["a version that is not a string", bad({ ...valid, version: 5 })],
          ["an owner without a type", bad({ ...valid, owner: { ...valid.id, type: undefined } })],
          ["a name with a NUL", withResource(valid, { id: withId(valid.id, { name: "a\u0000" }) })],
          [
            'a metadata key "__proto__"',
            bad({
              ...valid,
              metadata: Object.defineProperty({}, "__proto__", { value: "x", enumerable: true }),
            }),
          ],
        ];
        for (const [what, input] of badWrites) {
          await expectRejection(
            backend.writeCAS(input),
            isInvalidArgumentError,
            `InvalidArgumentError for a write with ${what}`,
          );
        }
        const badId = bad<ID>({ ...existing.id, tenancy: undefined });
        const badCalls: Array<[string, () => Promise<unknown>]> = [
          ["read without tenancy", () => backend.read(ReadConsistency.Eventual, badId)],
          ["read without id", () => backend.read(ReadConsistency.Strong, bad(undefined))],
          ["delete without tenancy", () => backend.deleteCAS(badId, existing.version)],
          [
            "delete with a numeric version",
            () => backend.deleteCAS(idOf(existing), bad<string>(1)),
          ],
          [
            "list without tenancy",
            () => backend.list(ReadConsistency.Eventual, typeA, bad(undefined), ""),
          ],
          [
            "list without a kind",
            () => backend.list(ReadConsistency.Eventual, bad({ group: "test" }), everywhere, ""),
          ],
          [
            "listByOwner without type",
            () => backend.listByOwner(bad({ ...existing.id, type: undefined })),
          ],
          ["watchList without tenancy", () => backend.watchList(typeA, bad(undefined), "")],
        ];
        for (const [what, call] of badCalls) {
          await expectRejection(call(), isInvalidArgumentError, `InvalidArgumentError for ${what}`);
        }

        expectResource(await backend.read(ReadConsistency.Strong, idOf(existing)), existing);
        const all = await backend.list(ReadConsistency.Strong, typeA, everywhere, "");
        expect(all.map((r) => comparable(r, false))).toEqual([comparable(existing, false)]);
        // Nothing was published: the next event is the marker written now.
        const marker = await backend.writeCAS(resource(typeAv1, tenancyOther, "marker"));
        expectResource(eventResource(await nextEvent(ctx.timing, watch)), marker);
      },
      ctx.testTimeoutMs,
    );

    const restore = ctx.options.restore;
    if (restore !== undefined) {
      it(
        "a restore replaces the data and ends every watch with WatchClosedError",
        async () => {
          const backend = await ctx.newBackend();
          const before = await backend.writeCAS(resource(typeAv1, tenancyDefault, "before"));
          using watch = await openAfterSnapshot(ctx, backend);
          const restored = create(ResourceSchema, {
            ...resource(typeAv1, tenancyDefault, "restored"),
            version: "12345",
          });
          await restore(backend, [restored]);
          await expectRejection(
            (async () => {
              // Events published before the restore may still be queued; the watch must end.
              for (;;) await nextEvent(ctx.timing, watch);
            })(),
            isWatchClosedError,
            "WatchClosedError after the restore",
          );
          await eventually(ctx.timing, async () => {
            const all = await backend.list(ReadConsistency.Eventual, typeA, everywhere, "");
            expectElementsMatch(all, [restored]);
          });
          await expectRejection(
            backend.read(ReadConsistency.Strong, idOf(before)),
            isNotFoundError,
            "NotFoundError for data the restore replaced",
          );
        },
        ctx.testTimeoutMs,
      );
    }
  });
}
