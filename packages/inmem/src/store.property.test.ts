import { create } from "@bufbuild/protobuf";
import { type ID, IDSchema, type Resource, ResourceSchema, type Tenancy } from "@raftstore/proto";
import type { UnversionedType } from "@raftstore/storage";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Store } from "./store.js";
import type { StoreView } from "./store-view.js";
import type { StoreWatch } from "./store-watch.js";
import { recordBytes } from "./tables.js";

// The store against the simplest model that could be right: a Map from key to the resource,
// with every rule of §2.3–§2.7 spelled out naively. Random operation sequences must give the same
// outcome (result or error name) on both, every view must keep the model state of its moment, and
// every watch must replay to the model state (the snapshot up to end-of-snapshot, the present at
// the end) with no duplicate and no gap.

const KINDS = ["Artist", "Album"];
const PARTITIONS = ["default", "billing"];
const NAMESPACES = ["default", "other"];
const NAMES = ["a", "ab", "b", "web"];
const UIDS = ["u1", "u2", ""];
const GROUP_VERSIONS = ["v1", "v2"];

interface Key {
  kind: string;
  partition: string;
  namespace: string;
  name: string;
}

const key = fc.record({
  kind: fc.constantFrom(...KINDS),
  partition: fc.constantFrom(...PARTITIONS),
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom(...NAMES),
});

type Expectation = "current" | "empty" | "stale";

const operation = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("write" as const),
      key,
      uid: fc.constantFrom(...UIDS),
      groupVersion: fc.constantFrom(...GROUP_VERSIONS),
      expect: fc.constantFrom<Expectation>("current", "current", "empty", "stale"),
      owner: fc.option(fc.record({ key, uid: fc.constantFrom(...UIDS) }), { nil: undefined }),
      label: fc.string({ maxLength: 3 }),
    }),
  },
  {
    // What a controller does most: rewrite the stored resource at its version (uid and owner
    // kept), so the store may replace the record in place.
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("update" as const),
      key,
      groupVersion: fc.constantFrom(...GROUP_VERSIONS),
      label: fc.string({ maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      key,
      uid: fc.constantFrom(...UIDS),
      // "incarnation": deleteIncarnation, which compares no version.
      expect: fc.constantFrom<Expectation | "incarnation">(
        "current",
        "current",
        "empty",
        "stale",
        "incarnation",
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("view" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("watch" as const),
      kind: fc.constantFrom(...KINDS),
      partition: fc.constantFrom("*", ...PARTITIONS),
      namespace: fc.constantFrom("*", ...NAMESPACES),
      prefix: fc.constantFrom("", "a", "w"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("restore" as const) }) },
);

type Model = Map<string, Resource>;

function modelKey(k: Key): string {
  return [k.kind, k.partition, k.namespace, k.name].join("/");
}

function id(k: Key, uid: string, groupVersion = "v1"): ID {
  return create(IDSchema, {
    uid,
    name: k.name,
    type: { group: "demo", groupVersion, kind: k.kind },
    tenancy: { partition: k.partition, namespace: k.namespace },
  });
}

function keyOf(r: Resource): Key {
  const i = r.id as ID;
  return {
    kind: i.type?.kind ?? "",
    partition: i.tenancy?.partition ?? "",
    namespace: i.tenancy?.namespace ?? "",
    name: i.name,
  };
}

interface Query {
  type: UnversionedType;
  tenancy: Tenancy;
  prefix: string;
}

function matches(r: Resource, q: Query): boolean {
  const k = keyOf(r);
  return (
    k.kind === q.type.kind &&
    (q.tenancy.partition === "*" || q.tenancy.partition === k.partition) &&
    (q.tenancy.namespace === "*" || q.tenancy.namespace === k.namespace) &&
    k.name.startsWith(q.prefix)
  );
}

/** A model state as comparable strings, sorted. */
function state(list: Iterable<Resource>): string[] {
  return [...list]
    .map((r) => `${modelKey(keyOf(r))}@${r.version}:${r.id?.uid}:${r.metadata.label}`)
    .sort();
}

function outcome(fn: () => unknown): string {
  try {
    const value = fn();
    return value === undefined ? "ok" : `ok ${(value as Resource).version}`;
  } catch (error) {
    return (error as Error).name;
  }
}

const ALL_QUERIES: Query[] = KINDS.flatMap((kind) =>
  ["*", ...PARTITIONS].flatMap((partition) =>
    ["*", ...NAMESPACES].map((namespace) => ({
      type: { group: "demo", kind },
      tenancy: { partition, namespace } as Tenancy,
      prefix: "a",
    })),
  ),
);

describe("Store against a model", () => {
  it("agrees with the model on every outcome, list, view and watch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), async (ops) => {
        const store = new Store({ maxWatchLag: 1_000 });
        let model: Model = new Map();
        let nextVersion = 0;
        const views: Array<{ view: StoreView; expected: string[] }> = [];
        const watches: Array<{
          watch: StoreWatch;
          query: Query;
          atOpen: string[];
          ended: boolean;
        }> = [];

        for (const o of ops) {
          if (o.op === "write") {
            const stored = model.get(modelKey(o.key));
            const version =
              o.expect === "current" ? (stored?.version ?? "") : o.expect === "empty" ? "" : "0";
            const input = create(ResourceSchema, {
              id: id(o.key, o.uid, o.groupVersion),
              owner: o.owner && id(o.owner.key, o.owner.uid),
              version,
              metadata: { label: o.label },
            });
            const newVersion = String(++nextVersion);
            let expected: string;
            if (stored === undefined)
              expected = version === "" ? `ok ${newVersion}` : "CASFailureError";
            else if (stored.id?.uid !== o.uid) expected = "WrongUidError";
            else if (stored.version !== version) expected = "CASFailureError";
            else expected = `ok ${newVersion}`;
            expect(outcome(() => store.writeCAS(input, newVersion))).toBe(expected);
            if (expected.startsWith("ok")) {
              model.set(modelKey(o.key), { ...input, version: newVersion });
            }
          } else if (o.op === "update") {
            const stored = model.get(modelKey(o.key));
            if (stored !== undefined) {
              const input = create(ResourceSchema, {
                ...stored,
                id: id(o.key, stored.id?.uid ?? "", o.groupVersion),
                metadata: { label: o.label },
              });
              const newVersion = String(++nextVersion);
              expect(outcome(() => store.writeCAS(input, newVersion))).toBe(`ok ${newVersion}`);
              model.set(modelKey(o.key), { ...input, version: newVersion });
            }
          } else if (o.op === "delete") {
            const stored = model.get(modelKey(o.key));
            const version =
              o.expect === "current" ? (stored?.version ?? "") : o.expect === "empty" ? "" : "0";
            let expected = "ok";
            if (o.expect === "incarnation") {
              expect(outcome(() => store.deleteIncarnation(id(o.key, o.uid)))).toBe(expected);
            } else {
              if (stored !== undefined && stored.id?.uid === o.uid && stored.version !== version) {
                expected = "CASFailureError";
              }
              expect(outcome(() => store.deleteCAS(id(o.key, o.uid), version))).toBe(expected);
            }
            if (expected === "ok" && stored?.id?.uid === o.uid) model.delete(modelKey(o.key));
          } else if (o.op === "view") {
            views.push({ view: store.view(), expected: state(model.values()) });
          } else if (o.op === "watch") {
            const query: Query = {
              type: { group: "demo", kind: o.kind },
              tenancy: { partition: o.partition, namespace: o.namespace } as Tenancy,
              prefix: o.prefix,
            };
            const atOpen = state([...model.values()].filter((r) => matches(r, query)));
            watches.push({
              watch: store.watchList(query.type, query.tenancy, query.prefix),
              query,
              atOpen,
              ended: false,
            });
          } else {
            // Restore the current content (versions kept), as a follower installing a snapshot.
            const restoration = store.restore();
            for (const r of store.snapshot()) restoration.apply(r);
            restoration.commit();
            for (const w of watches) w.ended = true;
            model = new Map(model);
          }
          // The key just written or deleted reads as in the model, with an empty uid (which
          // the store may answer from its index alone) and with the stored one, in each group
          // version.
          if ("key" in o) {
            const stored = model.get(modelKey(o.key));
            for (const groupVersion of GROUP_VERSIONS) {
              const expected =
                stored === undefined
                  ? "NotFoundError"
                  : stored.id?.type?.groupVersion === groupVersion
                    ? `ok ${stored.version}`
                    : "GroupVersionMismatchError";
              for (const uid of new Set(["", stored?.id?.uid ?? "u1"])) {
                const read = outcome(() => store.read(id(o.key, uid, groupVersion)));
                expect(read, `${uid} ${groupVersion}`).toBe(expected);
              }
            }
          }
        }

        // Lists and owner lists agree with the model.
        for (const query of ALL_QUERIES) {
          const expected = state([...model.values()].filter((r) => matches(r, query)));
          expect(state(store.list(query.type, query.tenancy, query.prefix))).toEqual(expected);
        }
        for (const owner of NAMES) {
          for (const uid of UIDS) {
            const ownerId = id(
              { kind: "Artist", partition: "default", namespace: "default", name: owner },
              uid,
            );
            const expected = state(
              [...model.values()].filter(
                (r) =>
                  r.owner !== undefined &&
                  r.owner.uid === uid &&
                  modelKey(keyOf({ id: r.owner } as Resource)) ===
                    modelKey(keyOf({ id: ownerId } as Resource)),
              ),
            );
            expect(state(store.listByOwner(ownerId))).toEqual(expected);
          }
        }
        // The size kept write by write is the content's, whatever the path to it.
        expect(store.bytes).toBe([...model.values()].reduce((sum, r) => sum + recordBytes(r), 0));
        // Every key reads back as in the model.
        for (const [k, r] of model) {
          const [kind, partition, namespace, name] = k.split("/") as [
            string,
            string,
            string,
            string,
          ];
          expect(
            store.read(id({ kind, partition, namespace, name }, "", r.id?.type?.groupVersion))
              .version,
          ).toBe(r.version);
        }
        // Views keep the state of their moment.
        for (const { view, expected } of views) {
          const all = ALL_QUERIES.filter(
            (q) => q.tenancy.partition === "*" && q.tenancy.namespace === "*",
          ).flatMap((q) => view.list(q.type, q.tenancy, ""));
          expect(state(all)).toEqual(expected);
        }
        // Watches replay to the snapshot at end-of-snapshot, then to the present.
        for (const w of watches) {
          const replayed = new Map<string, Resource>();
          const versions = new Map<string, string[]>();
          let atEndOfSnapshot: string[] | undefined;
          for (;;) {
            const controller = new AbortController();
            const idle = setImmediate(() => controller.abort(new Error("idle")));
            let event: Awaited<ReturnType<StoreWatch["next"]>>;
            try {
              event = await w.watch.next({ signal: controller.signal });
            } catch (error) {
              if (w.ended) expect((error as Error).name).toBe("WatchClosedError");
              else expect((error as Error).message).toBe("idle");
              break;
            } finally {
              clearImmediate(idle);
            }
            const e = event.event;
            if (e.case === "endOfSnapshot") {
              expect(atEndOfSnapshot, "one end-of-snapshot").toBeUndefined();
              atEndOfSnapshot = state(replayed.values());
              continue;
            }
            const r = e.value?.resource as Resource;
            expect(matches(r, w.query)).toBe(true);
            const k = modelKey(keyOf(r));
            const seen = versions.get(k) ?? [];
            expect(seen, "no duplicate event").not.toContain(`${e.case}@${r.version}`);
            versions.set(k, [...seen, `${e.case}@${r.version}`]);
            if (e.case === "upsert") replayed.set(k, r);
            else replayed.delete(k);
          }
          if (w.ended) continue;
          expect(atEndOfSnapshot).toEqual(w.atOpen);
          const expected = state([...model.values()].filter((r) => matches(r, w.query)));
          expect(state(replayed.values())).toEqual(expected);
          w.watch.close();
        }
        expect(store.watchCount).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
