import { create } from "@bufbuild/protobuf";
import { WatchEventSchema } from "@raftstore/proto";
import { describe, expect, it, vi } from "vitest";
import { isWatchClosedError } from "./errors.js";
import { WatchQueue } from "./watch-queue.js";

const eos = () => create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } });

describe("WatchQueue", () => {
  it("hands queued events out in order, and waits for the next one", async () => {
    const watch = new WatchQueue();
    const [a, b, c] = [eos(), eos(), eos()];
    watch.push(a);
    watch.push(b);
    expect(await watch.next()).toBe(a);
    expect(await watch.next()).toBe(b);
    const pending = watch.next();
    watch.push(c);
    expect(await pending).toBe(c);
  });

  it("ends a watch whose consumer falls too far behind, and releases it once", async () => {
    const onClose = vi.fn();
    const watch = new WatchQueue({ maxPending: 2, onClose });
    watch.push(eos());
    watch.push(eos());
    expect(watch.ended).toBe(false);
    watch.push(eos());
    expect(watch.ended).toBe(true);
    const error = await watch.next().catch((e: unknown) => e);
    expect(isWatchClosedError(error)).toBe(true);
    expect(String(error)).toMatch(/fell more than 2 events behind/);
    watch.close();
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("keeps memory bounded while a long queue is drained", async () => {
    const watch = new WatchQueue();
    for (let i = 0; i < 10_000; i++) watch.push(eos());
    for (let i = 0; i < 9_000; i++) await watch.next();
    expect(watch.pending).toBe(1_000);
  });

  it("refuses a second concurrent next()", async () => {
    const watch = new WatchQueue();
    const first = watch.next();
    await expect(watch.next()).rejects.toThrow(/another next\(\) is pending/);
    watch.close();
    await expect(first).rejects.toSatisfy(isWatchClosedError);
  });

  it("ends iteration when its consumer closes it, and throws when the backend ends it", async () => {
    const closed = new WatchQueue();
    closed.push(eos());
    const seen: unknown[] = [];
    for await (const event of closed) {
      seen.push(event);
      closed.close();
    }
    expect(seen).toHaveLength(1);

    const ended = new WatchQueue();
    ended.end();
    await expect(
      (async () => {
        for await (const _ of ended) {
          // unreachable: the backend ended the watch before any event
        }
      })(),
    ).rejects.toSatisfy(isWatchClosedError);
  });
});
