import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import { isAlreadySettledError, isInvalidHistoryError } from "./errors.js";
import { HistoryRecorder } from "./history-recorder.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import { catchError } from "./test-support/catch-error.js";

function virtualClock() {
  const clock = { now: 0, read: () => clock.now };
  return clock;
}

describe("HistoryRecorder", () => {
  it("records calls and returns at the caller's clock", () => {
    const clock = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>(clock.read);
    clock.now = 10;
    const write = recorder.invoke(1, { op: "put", key: "x", value: "1" });
    clock.now = 12;
    const read = recorder.invoke(2, { op: "get", key: "x" });
    clock.now = 15;
    read.ok({ ok: true, value: "1" });
    clock.now = 20;
    write.ok({ ok: true });
    expect(recorder.history()).toEqual([
      {
        clientId: 1,
        input: { op: "put", key: "x", value: "1" },
        output: { ok: true },
        call: 10,
        return: 20,
      },
      {
        clientId: 2,
        input: { op: "get", key: "x" },
        output: { ok: true, value: "1" },
        call: 12,
        return: 15,
      },
    ]);
    expect(recorder.size).toBe(2);
    expect(recorder.inFlight).toBe(0);
  });

  it("records an unknown outcome as never returned, with no output", () => {
    const clock = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>(clock.read);
    const write = recorder.invoke(1, { op: "put", key: "x", value: "1" });
    clock.now = 99;
    write.unknown();
    expect(write.settled).toBe(true);
    expect(recorder.history()).toEqual([
      {
        clientId: 1,
        input: { op: "put", key: "x", value: "1" },
        call: 0,
        return: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it("shows calls still in flight as unknown, so a history can be checked at any time", () => {
    const clock = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>(clock.read);
    const write = recorder.invoke(1, { op: "put", key: "x", value: "1" });
    clock.now = 1;
    recorder.invoke(2, { op: "get", key: "x" }).ok({ ok: true, value: "1" });
    expect(write.settled).toBe(false);
    expect(recorder.inFlight).toBe(1);
    const [pending] = recorder.history();
    expect(pending.output).toBeUndefined();
    expect(pending.return).toBe(Number.POSITIVE_INFINITY);
    expect(checkLinearizability(kvModel, recorder.history()).outcome).toBe("linearizable");
  });

  it("hands out a fresh copy of the history each time", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>(() => 0);
    recorder.invoke(1, { op: "get", key: "x" });
    const first = recorder.history();
    first[0].call = 42;
    first.pop();
    expect(recorder.history()[0].call).toBe(0);
  });

  it("rejects a second outcome for the same call with AlreadySettledError", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>(() => 0);
    const handle = recorder.invoke(1, { op: "put", key: "x", value: "1" });
    handle.unknown();
    const error = catchError(() => handle.ok({ ok: true }));
    expect(isAlreadySettledError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "operation #0 was already settled as unknown; expected one outcome, found a second one (ok)",
    );
    expect(recorder.history()[0].output).toBeUndefined();
    expect(recorder.inFlight).toBe(0);
  });

  it("rejects ok(undefined), which would be indistinguishable from an unknown outcome", () => {
    const recorder = new HistoryRecorder<KvInput, KvOutput>(() => 0);
    const handle = recorder.invoke(1, { op: "get", key: "x" });
    const error = catchError(() => handle.ok(undefined as unknown as KvOutput));
    expect(isInvalidHistoryError(error)).toBe(true);
    expect(handle.settled).toBe(false);
  });

  it("rejects a clock that goes backwards or is not a finite number", () => {
    const clock = virtualClock();
    const recorder = new HistoryRecorder<KvInput, KvOutput>(clock.read);
    clock.now = 5;
    const handle = recorder.invoke(1, { op: "get", key: "x" });
    clock.now = 4;
    const backwards = catchError(() => handle.ok({ ok: true }));
    expect(isInvalidHistoryError(backwards)).toBe(true);
    expect((backwards as Error).message).toBe(
      "operation #0: the clock went backwards: expected a return time >= the call time 5, found 4",
    );
    clock.now = Number.NaN;
    const notANumber = catchError(() => recorder.invoke(1, { op: "get", key: "x" }));
    expect(isInvalidHistoryError(notANumber)).toBe(true);
    expect(recorder.size).toBe(1);
  });
});
