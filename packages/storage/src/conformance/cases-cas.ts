import { describe, expect, it } from "vitest";
import { ReadConsistency } from "../backend.js";
import { isCASFailureError, isNotFoundError, isWrongUidError } from "../errors.js";
import { resource, tenancyDefault, typeB, withId, withResource } from "./fixtures.js";
import { eventually, idOf } from "./helpers.js";
import type { SuiteContext } from "./suite.js";

/** Asserts that `promise` rejects with an error the guard accepts. */
export async function expectRejection(
  promise: Promise<unknown>,
  guard: (error: unknown) => boolean,
  expected: string,
): Promise<void> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected ${expected}, but the call succeeded`);
  expect(guard(outcome.error), `expected ${expected}, got ${String(outcome.error)}`).toBe(true);
}

/** `CAS Write/…` and `CAS Delete/…`. */
export function casTests(ctx: SuiteContext): void {
  describe("CAS Write", () => {
    it(
      "version-based CAS",
      async () => {
        const backend = await ctx.newBackend();
        const v0 = resource(typeB, tenancyDefault, "web");

        await expectRejection(
          backend.writeCAS(withResource(v0, { version: "some-version" })),
          isCASFailureError,
          "CASFailureError",
        );

        const v1 = await backend.writeCAS(v0);
        expect(v1.version).not.toBe("");

        const v2 = await backend.writeCAS(v1);
        expect(v2.version).not.toBe("");
        expect(v2.version).not.toBe(v1.version);

        await expectRejection(
          backend.writeCAS(withResource(v2, { version: "" })),
          isCASFailureError,
          "CASFailureError for a create over an existing resource",
        );
        await expectRejection(
          backend.writeCAS(withResource(v2, { version: v1.version })),
          isCASFailureError,
          "CASFailureError for a stale version",
        );
      },
      ctx.testTimeoutMs,
    );

    it(
      "uid immutability",
      async () => {
        const backend = await ctx.newBackend();
        const v1 = await backend.writeCAS(resource(typeB, tenancyDefault, "web"));

        // Any error will do for an empty uid; in practice it is WrongUidError.
        await expectRejection(
          backend.writeCAS(withResource(v1, { id: withId(v1.id, { uid: "" }) })),
          (e) => e instanceof Error,
          "an error for an empty uid",
        );
        await expectRejection(
          backend.writeCAS(withResource(v1, { id: withId(v1.id, { uid: "b" }) })),
          isWrongUidError,
          "WrongUidError",
        );

        const v2 = await backend.writeCAS(withResource(v1, { id: withId(v1.id, { uid: "a" }) }));
        await backend.deleteCAS(idOf(v2), v2.version);

        // A new incarnation under the same key.
        await backend.writeCAS(withResource(v2, { id: withId(v2.id, { uid: "b" }), version: "" }));
      },
      ctx.testTimeoutMs,
    );
  });

  describe("CAS Delete", () => {
    it(
      "version-based CAS",
      async () => {
        const backend = await ctx.newBackend();
        const res = await backend.writeCAS(resource(typeB, tenancyDefault, "web"));

        await expectRejection(
          backend.deleteCAS(idOf(res), ""),
          isCASFailureError,
          "CASFailureError",
        );
        await expectRejection(
          backend.deleteCAS(idOf(res), "some-version"),
          isCASFailureError,
          "CASFailureError",
        );
        await backend.deleteCAS(idOf(res), res.version);

        await eventually(ctx.timing, () =>
          expectRejection(
            backend.read(ReadConsistency.Eventual, idOf(res)),
            isNotFoundError,
            "NotFoundError after the delete",
          ),
        );
      },
      ctx.testTimeoutMs,
    );

    it(
      "uid must match",
      async () => {
        const backend = await ctx.newBackend();
        const res = await backend.writeCAS(resource(typeB, tenancyDefault, "web"));

        await backend.deleteCAS(withId(res.id, { uid: "b" }), res.version);

        await eventually(ctx.timing, () => backend.read(ReadConsistency.Eventual, idOf(res)));
      },
      ctx.testTimeoutMs,
    );
  });
}
