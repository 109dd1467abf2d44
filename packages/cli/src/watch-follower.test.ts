import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Resource,
  ResourceSchema,
  type WatchEvent,
  WatchListRequestSchema,
  type WatchListResponse,
  WatchListResponseSchema,
} from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { followWatch, type WatchSource } from "./watch-follower.js";

const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
const tenancy = { partition: "default", namespace: "default" };
const request = create(WatchListRequestSchema, { type, tenancy });

function artist(name: string, version: string): Resource {
  return create(ResourceSchema, { id: { name, type, tenancy, uid: `uid-${name}` }, version });
}

/** An upsert, the end of the snapshot, a delete, an error ending the stream, or its normal end. */
type Step = Resource | "end" | ["delete", Resource] | ConnectError | "close";

function response(step: Exclude<Step, ConnectError | "close">): WatchListResponse {
  if (step === "end") {
    return create(WatchListResponseSchema, {
      event: { event: { case: "endOfSnapshot", value: {} } },
    });
  }
  if (Array.isArray(step)) {
    return create(WatchListResponseSchema, {
      event: { event: { case: "delete", value: { resource: step[1] } } },
    });
  }
  return create(WatchListResponseSchema, {
    event: { event: { case: "upsert", value: { resource: step } } },
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * A WatchList that plays one script per call (see Step). After a script, and on calls after
 * the last one, it waits until aborted.
 */
function scripted(...scripts: Step[][]): WatchSource & { calls: number } {
  const source = {
    calls: 0,
    async *watchList(_req: unknown, options: { signal: AbortSignal }) {
      const script = scripts[source.calls++];
      if (script === undefined) {
        await untilAborted(options.signal);
        throw new ConnectError("cancelled", Code.Canceled);
      }
      for (const step of script) {
        if (step instanceof ConnectError) throw step;
        if (step === "close") return;
        yield response(step);
      }
      await untilAborted(options.signal);
      throw new ConnectError("cancelled", Code.Canceled);
    },
  };
  return source;
}

function describeEvent(event: WatchEvent): string {
  switch (event.event.case) {
    case "upsert":
    case "delete":
      return `${event.event.case} ${event.event.value.resource?.id?.name}@${event.event.value.resource?.version}`;
    default:
      return "end";
  }
}

async function follow(
  source: WatchSource,
  options: {
    follow: boolean;
    stopAfter: number;
    catchUp?: (signal: AbortSignal) => Promise<string>;
  },
) {
  const controller = new AbortController();
  const events: string[] = [];
  const notices: string[] = [];
  const done = followWatch(
    source,
    request,
    (event) => {
      events.push(describeEvent(event));
      if (events.length === options.stopAfter) controller.abort();
    },
    {
      follow: options.follow,
      signal: controller.signal,
      notice: (message) => notices.push(message),
      sleep: async () => {},
      catchUp: options.catchUp,
    },
  );
  return { done, events, notices, controller };
}

const reset = () => new ConnectError("watch closed: snapshot restored", Code.Aborted);

describe("following a watch", () => {
  it("passes events through in order and ends normally on Ctrl-C", async () => {
    const source = scripted([
      artist("a", "1"),
      "end",
      artist("a", "2"),
      ["delete", artist("a", "2")],
    ]);
    const run = await follow(source, { follow: false, stopAfter: 4 });
    await run.done;
    expect(run.events).toEqual(["upsert a@1", "end", "upsert a@2", "delete a@2"]);
  });

  it("ends with Aborted on a reset without --follow", async () => {
    const source = scripted([artist("a", "1"), "end", reset()]);
    const run = await follow(source, { follow: false, stopAfter: 99 });
    await expect(run.done).rejects.toMatchObject({ code: Code.Aborted });
    expect(run.events).toEqual(["upsert a@1", "end"]);
  });

  it("turns a reset into exactly the changes the consumer missed", async () => {
    const source = scripted(
      [artist("a", "1"), artist("b", "1"), artist("c", "1"), "end", reset()],
      // After the restore: a unchanged, b changed, c gone, d new.
      [artist("a", "1"), artist("b", "5"), artist("d", "5"), "end", artist("d", "6")],
    );
    const run = await follow(source, { follow: true, stopAfter: 8 });
    await run.done;
    expect(run.events).toEqual([
      "upsert a@1",
      "upsert b@1",
      "upsert c@1",
      "end",
      "delete c@1",
      "upsert b@5",
      "upsert d@5",
      "upsert d@6",
    ]);
    expect(run.notices[0]).toMatch(
      /the watch was reset \(watch closed: snapshot restored\); re-listing/,
    );
    expect(run.notices[1]).toBe("watch re-opened: 2 changed or new, 1 deleted since");
  });

  it("still ends the snapshot once when the first watch fails before its end", async () => {
    const source = scripted(
      [artist("a", "1"), new ConnectError("connection reset", Code.Unavailable)],
      [artist("a", "1"), artist("b", "2"), "end", artist("b", "3")],
    );
    const run = await follow(source, { follow: true, stopAfter: 4 });
    await run.done;
    expect(run.events).toEqual(["upsert a@1", "upsert b@2", "end", "upsert b@3"]);
    expect(run.notices[0]).toMatch(/interrupted \(connection reset\); re-opening in 250ms/);
  });

  it("re-opens a watch the node ended with --follow, and fails without it", async () => {
    const script = () =>
      [
        [artist("a", "1"), "end", "close"],
        [artist("a", "1"), "end", artist("a", "2")],
      ] as Step[][];
    const without = await follow(scripted(...script()), { follow: false, stopAfter: 99 });
    await expect(without.done).rejects.toMatchObject({ code: Code.Unavailable });
    expect(without.events).toEqual(["upsert a@1", "end"]);

    const source = scripted(...script());
    const run = await follow(source, { follow: true, stopAfter: 3 });
    await run.done;
    expect(run.events).toEqual(["upsert a@1", "end", "upsert a@2"]);
    expect(source.calls).toBe(2);
    expect(run.notices[0]).toMatch(/the node ended the watch/);
  });

  it("gives up on errors a re-list cannot fix, even with --follow", async () => {
    const invalid = scripted([new ConnectError("bad type", Code.InvalidArgument)]);
    const run = await follow(invalid, { follow: true, stopAfter: 99 });
    await expect(run.done).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("catches up before re-opening a lost or node-canceled watch (not a reset), and tries again while it cannot", async () => {
    const log: string[] = [];
    const source = scripted(
      [artist("a", "1"), "end", new ConnectError("connection reset", Code.Unavailable)],
      [artist("a", "2"), "end", new ConnectError("stream closed with CANCEL", Code.Canceled)],
      [artist("a", "2"), "end", reset()],
      [artist("a", "2"), "end", artist("a", "3")],
    );
    const counted: WatchSource = {
      watchList(req, options) {
        log.push("watch");
        return source.watchList(req, options);
      },
    };
    let attempts = 0;
    const run = await follow(counted, {
      follow: true,
      stopAfter: 4,
      catchUp: async () => {
        attempts++;
        log.push(`catch up ${attempts}`);
        if (attempts === 1) throw new ConnectError("no route to host", Code.Unavailable);
        return "node b";
      },
    });
    await run.done;
    expect(run.events).toEqual(["upsert a@1", "end", "upsert a@2", "upsert a@3"]);
    // The first catch-up fails and is tried again after a pause; a reset needs none.
    // A stream the node canceled (it died) is lost as well.
    expect(log).toEqual([
      "watch",
      "catch up 1",
      "catch up 2",
      "watch",
      "catch up 3",
      "watch",
      "watch",
    ]);
    expect(run.notices).toEqual([
      "the watch was interrupted (connection reset); re-opening in 250ms",
      "the watch was interrupted (no route to host); re-opening in 500ms",
      "re-opening the watch on node b",
      "watch re-opened: 1 changed or new, 0 deleted since",
      "the watch was interrupted (stream closed with CANCEL); re-opening in 250ms",
      "re-opening the watch on node b",
      "watch re-opened: 0 changed or new, 0 deleted since",
      "the watch was reset (watch closed: snapshot restored); re-listing",
      "watch re-opened: 0 changed or new, 0 deleted since",
    ]);
  });
});
