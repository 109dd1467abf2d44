import { describe, expect, it } from "vitest";
import {
  canDeleteIncarnation,
  type IncarnationDeletingBackend,
  ReadConsistency,
} from "../backend.js";
import { isCASFailureError, isInvalidArgumentError, isNotFoundError } from "../errors.js";
import { expectRejection } from "./cases-cas.js";
import { openAfterSnapshot, settled } from "./cases-contract.js";
import { resource, tenancyDefault, typeAv1, typeAv2, withId, withResource } from "./fixtures.js";
import {
  eventKind,
  eventResource,
  expectNextUpsert,
  expectResource,
  idOf,
  nextEvent,
} from "./helpers.js";
import type { SuiteContext } from "./suite.js";

/**
 * `DeleteIncarnation/…`: the optional `IncarnationDeletingBackend.deleteIncarnation`, for
 * backends that declare it.
 */
export function deleteIncarnationTests(ctx: SuiteContext): void {
  async function newBackend(): Promise<IncarnationDeletingBackend> {
    const backend = await ctx.newBackend();
    if (!canDeleteIncarnation(backend)) {
      throw new Error(
        "the backend has no deleteIncarnation method, but the options say it deletes incarnations",
      );
    }
    return backend;
  }

  describe("DeleteIncarnation", () => {
    it(
      "deletes whatever version of the incarnation is stored, under any group version",
      async () => {
        const backend = await newBackend();
        const v1 = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        const v2 = await backend.writeCAS(withResource(v1, { metadata: { k: "2" } }));
        expect(v2.version).not.toBe(v1.version);
        // Named with v1's id, in another group version: neither is compared.
        await backend.deleteIncarnation(withId(v1.id, { type: typeAv2 }));
        await expectRejection(
          backend.read(ReadConsistency.Strong, idOf(v1)),
          isNotFoundError,
          "NotFoundError after the delete",
        );
        // Deleting it again, or what was never stored, is a no-op.
        await backend.deleteIncarnation(idOf(v2));
        await backend.deleteIncarnation(withId(v1.id, { name: "missing" }));
      },
      ctx.testTimeoutMs,
    );

    it(
      "leaves another incarnation alone, and publishes only the delete it made",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        await settled(ctx, backend, stored);
        using watch = await openAfterSnapshot(ctx, backend);

        for (const uid of ["other", ""]) {
          await backend.deleteIncarnation(withId(stored.id, { uid }));
        }
        await backend.deleteIncarnation(withId(stored.id, { name: "missing" }));
        expectResource(await backend.read(ReadConsistency.Strong, idOf(stored)), stored);

        const marker = await backend.writeCAS(resource(typeAv1, tenancyDefault, "marker"));
        await expectNextUpsert(ctx.timing, watch, marker);
        await backend.deleteIncarnation(idOf(stored));
        const event = await nextEvent(ctx.timing, watch);
        expect(eventKind(event)).toBe("delete");
        expectResource(eventResource(event), stored);
      },
      ctx.testTimeoutMs,
    );

    it(
      "deletes the incarnation while writes of it race, which then find nothing to write over",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        let latest = stored;
        const writes = Array.from({ length: 8 }, async (_, i) => {
          try {
            latest = await backend.writeCAS(
              withResource(latest, { metadata: { writer: String(i) } }),
            );
          } catch (error) {
            if (!isCASFailureError(error)) throw error;
          }
        });
        await Promise.all([...writes, backend.deleteIncarnation(idOf(stored))]);
        // A write ordered after the delete finds nothing (a compare-and-swap on a version of the
        // deleted incarnation), so nothing is stored once both are done.
        await expectRejection(
          backend.read(ReadConsistency.Strong, idOf(stored)),
          isNotFoundError,
          "NotFoundError once the delete and the writes are done",
        );
      },
      ctx.testTimeoutMs,
    );

    it(
      "refuses bad input",
      async () => {
        const backend = await newBackend();
        const stored = await backend.writeCAS(resource(typeAv1, tenancyDefault, "web"));
        for (const bad of [
          withId(stored.id, { name: "" }),
          withId(stored.id, { type: undefined }),
          withId(stored.id, { tenancy: undefined }),
        ]) {
          await expectRejection(
            backend.deleteIncarnation(bad),
            isInvalidArgumentError,
            "InvalidArgumentError",
          );
        }
        expectResource(await backend.read(ReadConsistency.Strong, idOf(stored)), stored);
      },
      ctx.testTimeoutMs,
    );
  });
}
