import { create } from "@bufbuild/protobuf";
import { ResourceSchema, StatusSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { canOverwrite, type OverwritingBackend, ReadConsistency } from "../backend.js";
import {
  isCASFailureError,
  isInvalidArgumentError,
  isNotFoundError,
  isWrongUidError,
} from "../errors.js";
import { expectRejection } from "./cases-cas.js";
import { openAfterSnapshot, settled } from "./cases-contract.js";
import {
  resource,
  tenancyDefault,
  typeAv1,
  typeAv2,
  typeB,
  withId,
  withResource,
} from "./fixtures.js";
import { expectDeepFrozen, expectNextUpsert, expectResource, idOf } from "./helpers.js";
import type { SuiteContext } from "./suite.js";

const status = (generation: string) =>
  create(StatusSchema, { observedGeneration: generation, conditions: [{ type: "ready" }] });

/** `Overwrite/…`: the optional `OverwritingBackend.overwrite`, for backends that declare it. */
export function overwriteTests(ctx: SuiteContext): void {
  async function newBackend(): Promise<OverwritingBackend> {
    const backend = await ctx.newBackend();
    if (!canOverwrite(backend)) {
      throw new Error("the backend has no overwrite method, but the options say it overwrites");
    }
    return backend;
  }

  describe("Overwrite", () => {
    it(
      "writes over whatever version of the same incarnation is stored",
      async () => {
        const backend = await newBackend();
        const v1 = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const v2 = await backend.writeCAS(withResource(v1, { metadata: { k: "2" } }));

        // Built on v1, which is no longer stored; the version given is not read.
        const stale = withResource(v1, { metadata: { k: "3" } });
        const o1 = await backend.overwrite(stale);
        expect(o1.version).not.toBe("");
        expect(new Set([v1.version, v2.version, o1.version]).size).toBe(3);
        expect(o1.metadata).toEqual({ k: "3" });
        expectResource(o1, stale, true);
        expectResource(await backend.read(ReadConsistency.Strong, idOf(o1)), o1);

        const o2 = await backend.overwrite(withResource(o1, { version: "not-a-version" }));
        const o3 = await backend.overwrite(withResource(o1, { version: "" }));
        expect(new Set([o1.version, o2.version, o3.version]).size).toBe(3);
        expectResource(await backend.read(ReadConsistency.Strong, idOf(o3)), o3);
      },
      ctx.testTimeoutMs,
    );

    it(
      "a write with a new group version replaces the stored form",
      async () => {
        const backend = await newBackend();
        const v1 = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const moved = withResource(v1, { id: withId(v1.id, { type: typeAv2 }) });
        const o = await backend.overwrite(moved);
        expect(o.id?.type?.groupVersion).toBe("v2");
        expectResource(
          await backend.read(ReadConsistency.Strong, withId(v1.id, { type: typeAv2 })),
          o,
        );
      },
      ctx.testTimeoutMs,
    );

    it(
      "refuses when nothing is stored, or another incarnation is",
      async () => {
        const backend = await newBackend();
        await expectRejection(
          backend.overwrite(resource(typeAv1, tenancyDefault, "missing")),
          isCASFailureError,
          "CASFailureError when nothing is stored",
        );
        await expectRejection(
          backend.read(ReadConsistency.Strong, idOf(resource(typeAv1, tenancyDefault, "missing"))),
          isNotFoundError,
          "NotFoundError: the refused overwrite created nothing",
        );

        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        for (const uid of ["b", ""]) {
          await expectRejection(
            backend.overwrite(withResource(stored, { id: withId(stored.id, { uid }) })),
            isWrongUidError,
            `WrongUidError for the uid ${JSON.stringify(uid)}`,
          );
        }
        expectResource(await backend.read(ReadConsistency.Strong, idOf(stored)), stored);
      },
      ctx.testTimeoutMs,
    );

    it(
      "refuses when the stored owner or status differs from the resource's",
      async () => {
        const backend = await newBackend();
        const owner = await backend.writeCAS(resource(typeB, tenancyDefault, "owner"));
        const stored = await backend.writeCAS(
          resource(typeAv1, tenancyDefault, "web", {
            owner: owner.id,
            status: { controller: status("01HZZZZZZZZZZZZZZZZZZZZZZZ") },
          }),
        );
        const refused: Array<[string, ReturnType<typeof withResource>]> = [
          ["no status", withResource(stored, { status: {} })],
          ["another status", withResource(stored, { status: { controller: status("01J") } })],
          [
            "one more status",
            withResource(stored, { status: { ...stored.status, other: status("01J") } }),
          ],
          ["no owner", withResource(stored, { owner: undefined })],
          ["another owner", withResource(stored, { owner: withId(owner.id, { name: "other" }) })],
          ["another owner uid", withResource(stored, { owner: withId(owner.id, { uid: "z" }) })],
        ];
        for (const [what, input] of refused) {
          await expectRejection(
            backend.overwrite(input),
            isCASFailureError,
            `CASFailureError for ${what}`,
          );
        }
        expectResource(await backend.read(ReadConsistency.Strong, idOf(stored)), stored);

        const written = await backend.overwrite(withResource(stored, { metadata: { k: "v" } }));
        expect(written.metadata).toEqual({ k: "v" });
        expect(written.version).not.toBe(stored.version);
      },
      ctx.testTimeoutMs,
    );

    it(
      "publishes an upsert for each overwrite and nothing for a refused one",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        await settled(ctx, backend, stored);
        using watch = await openAfterSnapshot(ctx, backend);

        await expectRejection(
          backend.overwrite(withResource(stored, { status: { controller: status("01J") } })),
          isCASFailureError,
          "CASFailureError",
        );
        const written = await backend.overwrite(withResource(stored, { metadata: { k: "v" } }));
        await expectNextUpsert(ctx.timing, watch, written);
      },
      ctx.testTimeoutMs,
    );

    it(
      "concurrent overwrites built on one read all succeed, in some order",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const written = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            backend.overwrite(withResource(stored, { metadata: { writer: String(i) } })),
          ),
        );
        expect(new Set(written.map((r) => r.version)).size).toBe(16);
        const last = await backend.read(ReadConsistency.Strong, idOf(stored));
        expect(written.map((r) => r.version)).toContain(last.version);
        expectResource(last, written.find((r) => r.version === last.version) as typeof last);
      },
      ctx.testTimeoutMs,
    );

    it(
      "does not mutate its input, returns a frozen resource, and refuses bad input",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const input = withResource(stored, { metadata: { k: "v" } });
        const before = create(ResourceSchema, input);
        const written = await backend.overwrite(input);
        expectResource(input, before);
        expectDeepFrozen(written, "overwrite result");

        for (const bad of [
          withResource(written, { id: undefined }),
          withResource(written, { id: withId(written.id, { name: "" }) }),
          withResource(written, { id: withId(written.id, { type: undefined }) }),
        ]) {
          await expectRejection(
            backend.overwrite(bad),
            isInvalidArgumentError,
            "InvalidArgumentError",
          );
        }
        expectResource(await backend.read(ReadConsistency.Strong, idOf(written)), written);
      },
      ctx.testTimeoutMs,
    );
  });
}
