import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type QueuedMessage, SendQueue } from "./send-queue.js";

function message(id: number, framed: number): QueuedMessage {
  return { type: "heartbeat", bytes: new Uint8Array([id & 0xff]), framed, last: false };
}

describe("the send queue", () => {
  it("refuses a message that would exceed the message bound, and changes nothing", () => {
    const queue = new SendQueue(2, 1000);
    expect(queue.push(message(1, 10))).toBe(true);
    expect(queue.push(message(2, 10))).toBe(true);
    expect(queue.push(message(3, 10))).toBe(false);
    expect([queue.length, queue.bytes]).toEqual([2, 20]);
  });

  it("refuses a message that would exceed the byte bound, but takes smaller ones", () => {
    const queue = new SendQueue(100, 100);
    expect(queue.push(message(1, 60))).toBe(true);
    expect(queue.push(message(2, 50))).toBe(false);
    expect(queue.push(message(3, 40))).toBe(true);
    expect([queue.length, queue.bytes]).toEqual([2, 100]);
  });

  it("takes batches in order, at least one message, within the batch bounds", () => {
    const queue = new SendQueue(100, 10_000);
    for (let i = 0; i < 6; i++) queue.push(message(i, 100 + i * 100));
    const ids = (batch: QueuedMessage[]) => batch.map((m) => m.bytes[0]);
    expect(ids(queue.take(350, 10))).toEqual([0, 1]); // 100 + 200; 300 more would pass 350
    expect(ids(queue.take(100, 10))).toEqual([2]); // larger than the bound alone: still taken
    expect(ids(queue.take(10_000, 2))).toEqual([3, 4]);
    expect(ids(queue.take(10_000, 10))).toEqual([5]);
    expect(queue.take(10_000, 10)).toEqual([]);
    expect([queue.length, queue.bytes]).toEqual([0, 0]);
  });

  it("never holds more than its bounds and loses or reorders nothing it accepted", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ push: fc.integer({ min: 1, max: 500 }) }),
            fc.record({ take: fc.integer({ min: 1, max: 2000 }) }),
          ),
          { maxLength: 300 },
        ),
        (operations) => {
          const queue = new SendQueue(20, 3000);
          const accepted: number[] = [];
          const taken: number[] = [];
          let next = 0;
          for (const op of operations) {
            if ("push" in op) {
              const id = next++;
              if (queue.push({ ...message(id, op.push), bytes: new Uint8Array(4).fill(id) }))
                accepted.push(id);
            } else {
              for (const m of queue.take(op.take, 1000)) taken.push(m.bytes[0] as number);
            }
            expect(queue.length).toBeLessThanOrEqual(20);
            expect(queue.bytes).toBeLessThanOrEqual(3000);
          }
          for (const m of queue.clear()) taken.push(m.bytes[0] as number);
          expect(taken).toEqual(accepted.map((id) => id & 0xff));
        },
      ),
    );
  });
});
