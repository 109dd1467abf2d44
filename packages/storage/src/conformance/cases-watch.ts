import type { Resource } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { ReadConsistency } from "../backend.js";
import { isNotFoundError } from "../errors.js";
import { expectRejection } from "./cases-cas.js";
import { writeSeeds } from "./cases-list.js";
import { listCases, seeds } from "./fixtures.js";
import {
  comparable,
  equalIgnoringVersion,
  eventKind,
  eventResource,
  expectResource,
  idOf,
  nextEvent,
} from "./helpers.js";
import type { SuiteContext } from "./suite.js";

/** `WatchList/<case> - initial snapshot` and `WatchList/<case> - following events`. */
export function watchTests(ctx: SuiteContext): void {
  const ignoreSnapshotOperations = ctx.options.ignoreWatchListSnapshotOperations === true;

  describe("WatchList", () => {
    for (const tc of listCases) {
      it(
        `${tc.name} - initial snapshot`,
        async () => {
          const backend = await ctx.newBackend();
          const all = await writeSeeds(backend);
          const expected = tc.expected.map((i) => all[i] as Resource);

          using watch = await backend.watchList(tc.type, tc.tenancy, tc.namePrefix);
          const count = expected.length + 1;
          for (let i = 0; i < count; i++) {
            const event = await nextEvent(ctx.timing, watch);
            if (eventKind(event) === "endOfSnapshot") {
              if (!ignoreSnapshotOperations) {
                expect(i, "end of snapshot comes after every snapshot upsert").toBe(count - 1);
              }
              continue;
            }
            expect(eventKind(event), `event ${i}`).toBe(
              !ignoreSnapshotOperations && i === count - 1 ? "endOfSnapshot" : "upsert",
            );
            const res = eventResource(event);
            expect(
              expected.some((e) => equalIgnoringVersion(e, res)),
              `snapshot upsert ${JSON.stringify(comparable(res, true))} is expected`,
            ).toBe(true);
          }
        },
        ctx.testTimeoutMs,
      );

      it(
        `${tc.name} - following events`,
        async () => {
          const backend = await ctx.newBackend();
          const expected = tc.expected.map((i) => seeds()[i] as Resource);

          using watch = await backend.watchList(tc.type, tc.tenancy, tc.namePrefix);
          expect(eventKind(await nextEvent(ctx.timing, watch))).toBe("endOfSnapshot");

          await writeSeeds(backend);
          for (let i = 0; i < expected.length; i++) {
            const event = await nextEvent(ctx.timing, watch);
            expect(eventKind(event), `event ${i}`).toBe("upsert");
            const res = eventResource(event);
            expect(
              expected.some((e) => equalIgnoringVersion(e, res)),
              `upsert ${JSON.stringify(comparable(res, true))} is expected`,
            ).toBe(true);
            // Monotonic reads: once the event is seen, an eventual read returns that state.
            expectResource(await backend.read(ReadConsistency.Eventual, idOf(res)), res);
          }

          const pick = expected[Math.floor(Math.random() * expected.length)] as Resource;
          const del = await backend.read(ReadConsistency.Eventual, idOf(pick));
          await backend.deleteCAS(idOf(del), del.version);

          const event = await nextEvent(ctx.timing, watch);
          expect(eventKind(event)).toBe("delete");
          expectResource(eventResource(event), del);

          await expectRejection(
            backend.read(ReadConsistency.Eventual, idOf(del)),
            isNotFoundError,
            "NotFoundError once the delete event was seen",
          );
        },
        ctx.testTimeoutMs,
      );
    }
  });
}
