import { describe, expect, it } from "vitest";
import { ReadConsistency } from "../backend.js";
import { isGroupVersionMismatchError, isNotFoundError } from "../errors.js";
import { resource, tenancyDefault, typeAv1, typeAv2, withId } from "./fixtures.js";
import { eventually, expectResource, idOf } from "./helpers.js";
import type { SuiteContext } from "./suite.js";

const modes = [
  { name: "Eventual Consistency", consistency: ReadConsistency.Eventual },
  { name: "Strong Consistency", consistency: ReadConsistency.Strong },
];

/** `Read/<mode>/…`: the five read cases, in both modes (strong reads are checked at once). */
export function readTests(ctx: SuiteContext): void {
  describe("Read", () => {
    for (const mode of modes) {
      describe(mode.name, () => {
        // Eventual reads may lag behind the write, so they are retried; strong reads must see
        // the acknowledged write immediately.
        const check = <T>(fn: () => Promise<T>) =>
          mode.consistency === ReadConsistency.Eventual ? eventually(ctx.timing, fn) : fn();

        async function setup() {
          const backend = await ctx.newBackend();
          const res = resource(typeAv1, tenancyDefault, "web");
          await backend.writeCAS(res);
          return { backend, res };
        }

        it(
          "simple",
          async () => {
            const { backend, res } = await setup();
            await check(async () => {
              expectResource(await backend.read(mode.consistency, idOf(res)), res, true);
            });
          },
          ctx.testTimeoutMs,
        );

        it(
          "no uid",
          async () => {
            const { backend, res } = await setup();
            const id = withId(res.id, { uid: "" });
            await check(async () => {
              expectResource(await backend.read(mode.consistency, id), res, true);
            });
          },
          ctx.testTimeoutMs,
        );

        it(
          "different id",
          async () => {
            const { backend, res } = await setup();
            const id = withId(res.id, { name: "different" });
            await check(async () => {
              const error = await backend.read(mode.consistency, id).catch((e: unknown) => e);
              expect(isNotFoundError(error), `NotFoundError, got ${String(error)}`).toBe(true);
            });
          },
          ctx.testTimeoutMs,
        );

        it(
          "different uid",
          async () => {
            const { backend, res } = await setup();
            const id = withId(res.id, { uid: "b" });
            await check(async () => {
              const error = await backend.read(mode.consistency, id).catch((e: unknown) => e);
              expect(isNotFoundError(error), `NotFoundError, got ${String(error)}`).toBe(true);
            });
          },
          ctx.testTimeoutMs,
        );

        it(
          "different GroupVersion",
          async () => {
            const { backend, res } = await setup();
            const id = withId(res.id, { type: typeAv2 });
            await check(async () => {
              const error = await backend.read(mode.consistency, id).catch((e: unknown) => e);
              if (!isGroupVersionMismatchError(error)) {
                throw new Error(`expected a GroupVersionMismatchError, got ${String(error)}`);
              }
              expect(error.requestedType).toEqual(typeAv2);
              expectResource(error.stored, res, true);
            });
          },
          ctx.testTimeoutMs,
        );
      });
    }
  });
}
