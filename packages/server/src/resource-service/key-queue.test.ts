import { describe, expect, it } from "vitest";
import { KeyQueue } from "./key-queue.js";

/** A task that records when it starts and ends, and finishes when told to. */
function gate(log: string[], name: string) {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const task = async () => {
    log.push(`${name} start`);
    await opened;
    log.push(`${name} end`);
    return name;
  };
  return { task, open };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("KeyQueue", () => {
  it("runs the tasks of one key one at a time, in order, and tasks of other keys at once", async () => {
    const queue = new KeyQueue();
    const log: string[] = [];
    const a1 = gate(log, "a1");
    const a2 = gate(log, "a2");
    const b1 = gate(log, "b1");
    const results = [queue.run("a", a1.task), queue.run("a", a2.task), queue.run("b", b1.task)];
    await settle();
    expect(log).toEqual(["a1 start", "b1 start"]);
    a2.open();
    await settle();
    expect(log).toEqual(["a1 start", "b1 start"]);
    a1.open();
    b1.open();
    expect(await Promise.all(results)).toEqual(["a1", "a2", "b1"]);
    expect(log.indexOf("a2 start")).toBeGreaterThan(log.indexOf("a1 end"));
  });

  it("goes on after a task that fails, and forgets a key once its tasks are done", async () => {
    const queue = new KeyQueue();
    const failed = queue.run("a", async () => {
      throw new Error("boom");
    });
    const next = queue.run("a", async () => "next");
    await expect(failed).rejects.toThrow("boom");
    expect(await next).toBe("next");
    await settle();
    expect(queue.size).toBe(0);
  });

  it("turns a synchronous throw into a rejection", async () => {
    const queue = new KeyQueue();
    const task = (() => {
      throw new Error("sync");
    }) as () => Promise<never>;
    await expect(queue.run("a", task)).rejects.toThrow("sync");
  });

  it("gives a waiting caller its abort at once, skips its task, and keeps the order", async () => {
    const queue = new KeyQueue();
    const log: string[] = [];
    const first = gate(log, "first");
    const controller = new AbortController();
    const running = queue.run("a", first.task);
    let skippedRan = false;
    const skipped = queue.run(
      "a",
      async () => {
        skippedRan = true;
        return "skipped";
      },
      { signal: controller.signal },
    );
    const third = gate(log, "third");
    const after = queue.run("a", third.task);
    controller.abort(new Error("gave up"));
    await expect(skipped).rejects.toThrow("gave up");
    await settle();
    // The third still waits for the first, which has not finished.
    expect(log).toEqual(["first start"]);
    first.open();
    third.open();
    expect(await running).toBe("first");
    expect(await after).toBe("third");
    expect(skippedRan).toBe(false);
    expect(log).toEqual(["first start", "first end", "third start", "third end"]);
  });

  it("does not read the signal of a task that need not wait", async () => {
    const queue = new KeyQueue();
    let reads = 0;
    const options = {
      get signal() {
        reads++;
        return new AbortController().signal;
      },
    };
    await queue.run("a", async () => "alone", options);
    expect(reads).toBe(0);
  });
});
