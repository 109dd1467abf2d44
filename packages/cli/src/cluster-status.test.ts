import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { OperatorService, type StatusResponseSchema } from "@raftstore/proto/operator/v1";
import { describe, expect, it } from "vitest";
import { ExitCode } from "./exit-codes.js";
import { fakeNodes } from "./test-support/fake-cluster.js";
import { run } from "./test-support/run-cli.js";

const urls = { n1: "http://10.0.0.1:7001", n2: "http://10.0.0.2:7001", n3: "http://10.0.0.3:7001" };
const members = Object.entries(urls).map(([id, url]) => ({ id, url, voter: true }));

type Status = MessageInitShape<typeof StatusResponseSchema>;

/** A node that lists the members and answers Status with `status`, or is down. */
function node(status: Status | "down") {
  return (router: ConnectRouter) =>
    router.service(OperatorService, {
      listMembers: () => ({ members }),
      status() {
        if (status === "down")
          throw new ConnectError("connect ECONNREFUSED 10.0.0.3:7001", Code.Unavailable);
        return status;
      },
    });
}

const leader = {
  id: "n1",
  state: "leader",
  term: 4n,
  leader: "n1",
  commitIndex: 120n,
  appliedIndex: 120n,
  lastIndex: 121n,
  resources: 17n,
  storeBytes: 15_360n,
  quotaBytes: 1_073_741_824n,
  peers: [
    { id: "n2", matchIndex: 121n, lag: 0n, replicationState: "replicate", active: true },
    { id: "n3", matchIndex: 90n, lag: 31n, replicationState: "probe", active: false },
  ],
} satisfies Status;
const follower = {
  id: "n2",
  state: "follower",
  term: 4n,
  leader: "n1",
  commitIndex: 120n,
  appliedIndex: 119n,
  lastIndex: 121n,
  resources: 17n,
  storeBytes: 15_360n,
  quotaBytes: 1_073_741_824n,
} satisfies Status;

describe("raftstore status", () => {
  it("asks every member and shows the leader's view of each one's lag, marking the unreachable", async () => {
    const nodes = fakeNodes((url) =>
      node(url === urls.n1 ? leader : url === urls.n2 ? follower : "down"),
    );
    const result = await run(["status", "--endpoint", urls.n2], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Ok);
    expect([...new Set(nodes.connected)].sort()).toEqual(Object.values(urls).sort());
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("leader: n1 (term 4)");
    expect(lines[2]).toMatch(
      /^MEMBER +URL +STATE +TERM +COMMIT +APPLIED +LAST +MATCH +LAG +RESOURCES +STORE +QUOTA$/,
    );
    expect(lines[3]).toMatch(
      /^n1 +http:\/\/10.0.0.1:7001 +leader +4 +120 +120 +121 +121 +0 +17 +15.0 KiB +1.0 GiB \(0%\)$/,
    );
    expect(lines[4]).toMatch(
      /^n2 +http:\/\/10.0.0.2:7001 +follower +4 +120 +119 +121 +121 +0 +17 +15.0 KiB +1.0 GiB \(0%\)$/,
    );
    expect(lines[5]).toMatch(
      /^n3 +http:\/\/10.0.0.3:7001 +unreachable +- +- +- +- +90 +31 \(inactive\) +- +- +-$/,
    );
    expect(result.stdout).not.toContain("quota");
    expect(result.stdout).toContain("n3 is unreachable: connect ECONNREFUSED 10.0.0.3:7001");
  });

  it("names the cluster, and a member that belongs to another one", async () => {
    const wrong = { ...follower, id: "n3", leader: "", state: "pre-candidate", clusterId: "bbbb" };
    const nodes = fakeNodes((url) =>
      node(
        url === urls.n1
          ? { ...leader, clusterId: "aaaa" }
          : url === urls.n2
            ? { ...follower, clusterId: "aaaa" }
            : wrong,
      ),
    );
    const result = await run(["status", "--endpoint", urls.n1], {
      createTransport: nodes.createTransport,
    });
    const lines = result.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual(["leader: n1 (term 4)", "cluster: aaaa"]);
    expect(result.stdout).toContain(
      "n3 belongs to another cluster (bbbb), and the others refuse it: it runs on another cluster's data directory",
    );
    const json = await run(["status", "-o", "json", "--endpoint", urls.n1], {
      createTransport: nodes.createTransport,
    });
    expect(JSON.parse(json.stdout).members.map((m: { clusterId: string }) => m.clusterId)).toEqual([
      "aaaa",
      "aaaa",
      "bbbb",
    ]);
  });

  it("warns of a store near its quota and of members with different quotas; shows none, and a node too old to say", async () => {
    const full = { ...follower, storeBytes: 950_000n, quotaBytes: 1_000_000n };
    const older = { ...follower, id: "n3", storeBytes: undefined, quotaBytes: undefined };
    const nodes = fakeNodes((url) =>
      node(url === urls.n1 ? { ...leader, quotaBytes: 0n } : url === urls.n2 ? full : older),
    );
    const result = await run(["status", "--endpoint", urls.n1], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Ok);
    const lines = result.stdout.split("\n");
    expect(lines[3]).toMatch(/ +15.0 KiB +none$/);
    expect(lines[4]).toMatch(/ +927.7 KiB +976.6 KiB \(95%\)$/);
    expect(lines[5]).toMatch(/ +17 +- +-$/);
    expect(result.stdout).toContain(
      "n2's store holds 927.7 KiB, 95% of its quota of 976.6 KiB: writes that would grow it past the quota are refused (exit code 7)",
    );
    expect(result.stdout).toContain(
      "the members have different quotas (n1 none, n2 976.6 KiB): each checks the writes it proposes against its own",
    );
    const json = await run(["status", "-o", "json", "--endpoint", urls.n1], {
      createTransport: nodes.createTransport,
    });
    const members = JSON.parse(json.stdout).members as { storeBytes?: number }[];
    expect(members.map((m) => m.storeBytes)).toEqual([15_360, 950_000, undefined]);
  });

  it("prints the same as JSON, and exits with 5 when no member leads", async () => {
    const nodes = fakeNodes((url) => node(url === urls.n2 ? { ...follower, leader: "" } : "down"));
    const result = await run(["status", "-o", "json", "--endpoint", urls.n2], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Unavailable);
    const status = JSON.parse(result.stdout);
    expect(status.leader).toBeNull();
    expect(status.term).toBe(4);
    expect(
      status.members.map((m: { id: string; reachable: boolean }) => [m.id, m.reachable]),
    ).toEqual([
      ["n1", false],
      ["n2", true],
      ["n3", false],
    ]);
    expect(result.stderr).toContain("no member leads right now");
  });

  it("lists the members", async () => {
    const nodes = fakeNodes(() => node(leader));
    const table = await run(["members", "list"], { createTransport: nodes.createTransport });
    expect(table.stdout).toBe(
      "ID  URL                   VOTER\nn1  http://10.0.0.1:7001  yes\nn2  http://10.0.0.2:7001  yes\nn3  http://10.0.0.3:7001  yes\n",
    );
    const json = await run(["members", "list", "-o", "json"], {
      createTransport: nodes.createTransport,
    });
    expect(JSON.parse(json.stdout)).toEqual({ members });
  });
});
