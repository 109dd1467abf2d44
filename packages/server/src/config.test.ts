import { getHeapStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import {
  defaultQuotaBytes,
  defaultRaftSettings,
  loadConfig,
  unknownSettingVariables,
} from "./config.js";

const base = {
  id: "n1",
  dataDir: "/tmp/raftstore-config-test",
  listen: "127.0.0.1:7001",
  initialCluster: "n1=127.0.0.1:7001",
};

describe("the snapshot jitter setting", () => {
  it("staggers snapshots by a quarter of the threshold unless told otherwise", () => {
    expect(defaultRaftSettings.snapshotJitter).toBe(0.25);
    expect(loadConfig({ flags: base }).raft.snapshotJitter).toBe(0.25);
    expect(loadConfig({ flags: { ...base, snapshotJitter: "0" } }).raft.snapshotJitter).toBe(0);
    const fromEnv = loadConfig({ flags: base, env: { RAFTSTORE_SNAPSHOT_JITTER: "0.5" } });
    expect(fromEnv.raft.snapshotJitter).toBe(0.5);
  });

  it.each(["", " ", "abc", "-0.1", "1", "2", "NaN"])("refuses %j, naming the flag", (value) => {
    expect(() => loadConfig({ flags: { ...base, snapshotJitter: value } })).toThrow(
      `--snapshot-jitter: expected a number from 0 to below 1, got "${value}"`,
    );
  });
});

describe("the snapshot interval setting", () => {
  it("is 30 s unless told otherwise; 0 turns it off", () => {
    expect(loadConfig({ flags: base }).raft.snapshotIntervalMs).toBe(30_000);
    const off = loadConfig({ flags: { ...base, snapshotIntervalMs: "0" } });
    expect(off.raft.snapshotIntervalMs).toBe(0);
  });

  it("refuses a negative or fractional interval, naming the flag", () => {
    expect(() => loadConfig({ flags: { ...base, snapshotIntervalMs: "-1" } })).toThrow(
      '--snapshot-interval-ms: expected an integer ≥ 0, got "-1"',
    );
  });
});

describe("the trailing bytes setting", () => {
  it("keeps at most 64 MiB of entries behind a snapshot unless told otherwise; 0 keeps none", () => {
    expect(loadConfig({ flags: base }).raft.trailingBytes).toBe(64 * 2 ** 20);
    expect(loadConfig({ flags: { ...base, trailingBytes: "0" } }).raft.trailingBytes).toBe(0);
    const fromEnv = loadConfig({ flags: base, env: { RAFTSTORE_TRAILING_BYTES: "1048576" } });
    expect(fromEnv.raft.trailingBytes).toBe(1_048_576);
  });

  it("refuses a negative or fractional size, naming the flag", () => {
    expect(() => loadConfig({ flags: { ...base, trailingBytes: "-1" } })).toThrow(
      '--trailing-bytes: expected an integer ≥ 0, got "-1"',
    );
    expect(() => loadConfig({ flags: { ...base, trailingBytes: "2.5" } })).toThrow(
      "--trailing-bytes",
    );
  });
});

describe("the leader hold setting", () => {
  it("is 7 s unless told otherwise, as Consul's rpc_hold_timeout; 0 fails at once", () => {
    expect(loadConfig({ flags: base }).leaderHoldMs).toBe(7_000);
    expect(loadConfig({ flags: { ...base, leaderHoldMs: "0" } }).leaderHoldMs).toBe(0);
    const fromEnv = loadConfig({ flags: base, env: { RAFTSTORE_LEADER_HOLD_MS: "2500" } });
    expect(fromEnv.leaderHoldMs).toBe(2_500);
  });

  it("refuses a negative hold, naming the flag", () => {
    expect(() => loadConfig({ flags: { ...base, leaderHoldMs: "-5" } })).toThrow(
      '--leader-hold-ms: expected an integer ≥ 0, got "-5"',
    );
  });
});

describe("the store quota", () => {
  it("is a quarter of the V8 heap limit in whole MiB unless told otherwise; 0 turns it off", () => {
    const quarter = getHeapStatistics().heap_size_limit / 4;
    const byDefault = loadConfig({ flags: base }).quotaBytes;
    expect(byDefault).toBe(defaultQuotaBytes());
    expect(byDefault % 2 ** 20).toBe(0);
    expect(byDefault).toBeLessThanOrEqual(quarter);
    expect(byDefault).toBeGreaterThan(quarter - 2 ** 20);
    expect(loadConfig({ flags: { ...base, quotaBytes: "0" } }).quotaBytes).toBe(0);
    const fromEnv = loadConfig({ flags: base, env: { RAFTSTORE_QUOTA_BYTES: "1048576" } });
    expect(fromEnv.quotaBytes).toBe(1_048_576);
  });

  it("refuses a negative or fractional quota, naming the flag", () => {
    expect(() => loadConfig({ flags: { ...base, quotaBytes: "-1" } })).toThrow(
      '--quota-bytes: expected an integer ≥ 0, got "-1"',
    );
    expect(() => loadConfig({ flags: { ...base, quotaBytes: "1.5" } })).toThrow("--quota-bytes");
  });
});

describe("RAFTSTORE_* variables that name no setting", () => {
  it("are reported, each with the closest setting's variable when one is close", () => {
    expect(
      unknownSettingVariables({
        RAFTSTORE_SNAPSHOT_THRESHHOLD: "5",
        RAFTSTORE_NOTHING_LIKE_IT_AT_ALL: "1",
        RAFTSTORE_TICK_MS: "50",
        PATH: "/usr/bin",
      }),
    ).toEqual([
      { name: "RAFTSTORE_NOTHING_LIKE_IT_AT_ALL", closest: undefined },
      { name: "RAFTSTORE_SNAPSHOT_THRESHHOLD", closest: "RAFTSTORE_SNAPSHOT_THRESHOLD" },
    ]);
  });

  it("leave out the client commands' and the tools' variables", () => {
    expect(
      unknownSettingVariables({
        RAFTSTORE_ENDPOINT: "http://127.0.0.1:7001",
        RAFTSTORE_TLS_CA: "ca.pem",
        RAFTSTORE_BENCH_KEYS: "1",
        RAFTSTORE_TEST_RAFT_RECEIVER: "connect",
        RAFTSTORE_INITIAL_CLUSTER_TOKEN: "t",
      }),
    ).toEqual([]);
  });
});

describe("this node's address in --initial-cluster", () => {
  const cluster = "n1=10.0.0.1:7001,n2=10.0.0.2:7001";
  const load = (flags: Record<string, string>) =>
    loadConfig({ flags: { ...base, initialCluster: cluster, ...flags } });

  it("must be where the node listens, or what it advertises", () => {
    expect(() => load({ listen: "10.0.0.1:7005" })).toThrow(
      /says n1 is at 10.0.0.1:7001, but it listens on 10.0.0.1:7005 \(--listen\)/,
    );
    expect(() => load({ listen: "0.0.0.0:7001", advertise: "10.0.0.9:7001" })).toThrow(
      /but it advertises 10.0.0.9:7001 \(--advertise\)/,
    );
    expect(load({ listen: "10.0.0.1:7001" }).initialCluster.get("n1")).toBe("10.0.0.1:7001");
    expect(load({ listen: "0.0.0.0:7001", advertise: "10.0.0.1:7001" }).advertise).toBe(
      "10.0.0.1:7001",
    );
  });

  it("is this node's alone: two members at one address are refused", () => {
    expect(() =>
      loadConfig({
        flags: { ...base, initialCluster: "n1=127.0.0.1:7001,n2=127.0.0.1:7001,n3=127.0.0.1:7003" },
      }),
    ).toThrow(
      /--initial-cluster: n1 and n2 are both at 127.0.0.1:7001; each member needs its own address/,
    );
  });

  it("may be any address on the port a wildcard listen serves", () => {
    expect(load({ listen: "0.0.0.0:7001" }).listen).toBe("0.0.0.0:7001");
    expect(load({ listen: "[::]:7001" }).listen).toBe("[::]:7001");
    expect(() => load({ listen: "0.0.0.0:7002" })).toThrow(/listens on 0.0.0.0:7002/);
  });
});
