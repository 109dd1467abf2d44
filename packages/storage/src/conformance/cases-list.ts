import type { Resource } from "@raftstore/proto";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type Backend, ReadConsistency } from "../backend.js";
import {
  listCases,
  resource,
  seeds,
  tenancyDefault,
  typeAv1,
  typeAv2,
  typeB,
  withId,
} from "./fixtures.js";
import { eventually, expectElementsMatch, idOf } from "./helpers.js";
import type { SuiteContext } from "./suite.js";

/** Writes every seed, in order, as a create. */
export async function writeSeeds(backend: Backend): Promise<Resource[]> {
  const written: Resource[] = [];
  for (const seed of seeds()) written.push(await backend.writeCAS(seed));
  return written;
}

/** `ListByOwner` (one backend, steps in order) and `List/<mode>/<case>`. */
export function listTests(ctx: SuiteContext): void {
  describe("ListByOwner", () => {
    let backend: Backend;
    let release: () => Promise<void>;
    let owner: Resource;
    let r1: Resource;
    let r2: Resource;

    beforeAll(async () => {
      ({ backend, release } = await ctx.openShared());
      owner = await backend.writeCAS(resource(typeAv1, tenancyDefault, "owner"));
      r1 = await backend.writeCAS(resource(typeB, tenancyDefault, "r1", { owner: owner.id }));
      r2 = await backend.writeCAS(resource(typeAv2, tenancyDefault, "r2", { owner: owner.id }));
    }, ctx.testTimeoutMs);
    afterAll(() => release?.());

    it(
      "lists every owned resource, version included",
      async () => {
        await eventually(ctx.timing, async () => {
          expectElementsMatch(await backend.listByOwner(idOf(owner)), [r1, r2]);
        });
      },
      ctx.testTimeoutMs,
    );

    it(
      "references are anchored to a specific uid",
      async () => {
        await eventually(ctx.timing, async () => {
          expectElementsMatch(
            await backend.listByOwner(withId(owner.id, { uid: "different" })),
            [],
          );
        });
      },
      ctx.testTimeoutMs,
    );

    it(
      "deleting the owner doesn't remove the references",
      async () => {
        await backend.deleteCAS(idOf(owner), owner.version);
        await eventually(ctx.timing, async () => {
          expectElementsMatch(await backend.listByOwner(idOf(owner)), [r1, r2]);
        });
      },
      ctx.testTimeoutMs,
    );

    it(
      "deleting the owned resource removes its reference",
      async () => {
        await backend.deleteCAS(idOf(r2), r2.version);
        await eventually(ctx.timing, async () => {
          expectElementsMatch(await backend.listByOwner(idOf(owner)), [r1]);
        });
      },
      ctx.testTimeoutMs,
    );
  });

  describe("List", () => {
    const modes = [{ name: "Eventual Consistency", consistency: ReadConsistency.Eventual }];
    if (ctx.options.supportsStronglyConsistentList) {
      modes.push({ name: "Strong Consistency", consistency: ReadConsistency.Strong });
    }
    for (const mode of modes) {
      describe(mode.name, () => {
        for (const tc of listCases) {
          it(
            tc.name,
            async () => {
              const backend = await ctx.newBackend();
              const all = await writeSeeds(backend);
              const expected = tc.expected.map((i) => all[i] as Resource);
              const check = async () => {
                const list = await backend.list(
                  mode.consistency,
                  tc.type,
                  tc.tenancy,
                  tc.namePrefix,
                );
                expectElementsMatch(list, expected, true);
              };
              await (mode.consistency === ReadConsistency.Eventual
                ? eventually(ctx.timing, check)
                : check());
            },
            ctx.testTimeoutMs,
          );
        }
      });
    }
  });
}
