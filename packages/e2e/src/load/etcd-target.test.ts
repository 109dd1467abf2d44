import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeEtcd } from "../test-support/fake-etcd.js";
import { createEtcdTarget } from "./etcd-target.js";
import type { KvTarget } from "./kv-target.js";

describe("the etcd target", () => {
  let fake: Awaited<ReturnType<typeof startFakeEtcd>>;
  let target: KvTarget;
  const value = new Uint8Array([1, 2, 3]);

  beforeAll(async () => {
    fake = await startFakeEtcd();
    target = createEtcdTarget([fake.url]);
  });

  afterAll(async () => {
    target.close();
    await fake.close();
  });

  it("puts a value and reads it back with its mod revision as the version", async () => {
    const version = await target.put(0, "key-000001", value);
    expect(await target.get(1, "key-000001", "linearizable")).toEqual({ value, version });
    expect(await target.get(0, "key-000404", "serializable")).toBeUndefined();
    expect(fake.ranges.map((r) => r.serializable)).toEqual([false, true]);
  });

  it("swaps only from the key's current version, as one Txn", async () => {
    const first = await target.put(0, "cas-0", value);
    const second = await target.cas(0, "cas-0", first, new Uint8Array([9]));
    expect(second).toBeDefined();
    expect(await target.cas(0, "cas-0", first, new Uint8Array([8]))).toBeUndefined();
    expect(await target.get(0, "cas-0", "linearizable")).toEqual({
      value: new Uint8Array([9]),
      version: second,
    });
  });
});
