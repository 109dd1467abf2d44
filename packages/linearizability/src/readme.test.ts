import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import { HistoryRecorder } from "./history-recorder.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import type { Model } from "./model.js";
import type { Operation } from "./operation.js";

// Every ```ts block of README.md appears here line for line (tools/check-readme-examples.mjs
// checks that), so the README's examples run and their claims are asserted.

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

function assertLinearizable(history: Operation<KvInput, KvOutput>[]): void {
  const result = checkLinearizability(kvModel, history, { maxSteps: 10_000_000 });
  if (result.outcome === "illegal") throw new Error(result.explanation);
  if (result.outcome === "unknown") throw new Error(`undecided: ${result.reason}`);
}

describe("the README examples", () => {
  it("record a history with a virtual clock and check it", () => {
    let now = 0;
    const recorder = new HistoryRecorder<KvInput, KvOutput>(() => now);

    const write = recorder.invoke(1, { op: "put", key: "x", value: "1" });
    now = 1;
    const read = recorder.invoke(2, { op: "get", key: "x" });
    now = 2;
    read.ok({ ok: true, value: "1" }); // saw the write before the write returned: allowed
    now = 3;
    write.ok({ ok: true });
    const timedOut = recorder.invoke(3, { op: "cas", key: "x", expected: "1", value: "2" });
    now = 4;
    timedOut.unknown(); // may have swapped, now or later, or never

    const result = checkLinearizability(kvModel, recorder.history());
    // result: { outcome: "linearizable", steps: 3 }
    expect(result).toEqual({ outcome: "linearizable", steps: 3 });
  });

  it("explain a stale read exactly as the README shows", () => {
    const example = () => {
      const history: Operation<KvInput, KvOutput>[] = [
        {
          clientId: 1,
          input: { op: "put", key: "x", value: "1" },
          output: { ok: true },
          call: 0,
          return: 1,
        },
        {
          clientId: 2,
          input: { op: "put", key: "x", value: "2" },
          output: { ok: true },
          call: 2,
          return: 3,
        },
        {
          clientId: 3,
          input: { op: "get", key: "x" },
          output: { ok: true, value: "1" },
          call: 4,
          return: 5,
        },
      ];
      assertLinearizable(history);
    };
    const shown = readme.match(/```text\n([\s\S]*?)\n```/)?.[1];
    expect(shown).toBeDefined();
    expect(example).toThrow(new Error(shown));
  });

  it("check a counter with a model of its own", () => {
    type CounterInput = { op: "add"; amount: number } | { op: "read" };
    type CounterOutput = { value?: number };

    const counterModel: Model<number, CounterInput, CounterOutput> = {
      init: () => 0,
      step(total, input, output) {
        if (input.op === "add") return [total + input.amount];
        return output === undefined || output.value === total ? [total] : [];
      },
      key: (total) => String(total),
      describe: (input, output) =>
        input.op === "add" ? `add ${input.amount}` : `read -> ${output?.value ?? "?"}`,
    };

    const adds: Operation<CounterInput, CounterOutput>[] = [
      { clientId: 1, input: { op: "add", amount: 1 }, output: {}, call: 0, return: 10 },
      { clientId: 2, input: { op: "add", amount: 2 }, output: {}, call: 0, return: 10 },
    ];
    const sawBoth = {
      clientId: 3,
      input: { op: "read" as const },
      output: { value: 3 },
      call: 11,
      return: 12,
    };
    const sawOne = { ...sawBoth, output: { value: 1 } };
    checkLinearizability(counterModel, [...adds, sawBoth]); // { outcome: "linearizable", … }
    checkLinearizability(counterModel, [...adds, sawOne]); // { outcome: "illegal", … }

    expect(checkLinearizability(counterModel, [...adds, sawBoth]).outcome).toBe("linearizable");
    const failure = checkLinearizability(counterModel, [...adds, sawOne]);
    expect(failure.outcome).toBe("illegal");
    if (failure.outcome === "illegal")
      expect(failure.explanation).toContain("#2  client 3  [11, 12]  read -> 1");
  });
});
