import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  ReadConsistency,
  type Resource,
  ResourceService,
  WatchListResponseSchema,
} from "@raftstore/proto";
import { OperatorService } from "@raftstore/proto/operator/v1";
import { describe, expect, it } from "vitest";
import { ExitCode } from "./exit-codes.js";
import type { StopRequest } from "./io.js";
import { artist, fakeNodes } from "./test-support/fake-cluster.js";
import { run } from "./test-support/run-cli.js";

const a = "http://10.0.0.1:7001";
const b = "http://10.0.0.2:7001";
const c = "http://10.0.0.3:7001";

const refused = (url: string) =>
  new ConnectError(`connect ECONNREFUSED ${new URL(url).host}`, Code.Unavailable);

/** Nodes at `up` serve reads of "web" (saying which node answered); the others refuse. */
function cluster(up: string[]) {
  const reads: string[] = [];
  const nodes = fakeNodes((url) => (router: ConnectRouter) => {
    router.service(OperatorService, {
      listMembers() {
        if (!up.includes(url)) throw refused(url);
        return { members: [] };
      },
    });
    router.service(ResourceService, {
      read() {
        if (!up.includes(url)) throw refused(url);
        reads.push(url);
        return { resource: artist("web") };
      },
    });
  });
  return { nodes, reads };
}

const upsert = (resource: Resource) =>
  create(WatchListResponseSchema, { event: { event: { case: "upsert", value: { resource } } } });

describe("several endpoints (--endpoint a,b,c)", () => {
  it("uses the first that answers, and says which it passed over", async () => {
    const { nodes, reads } = cluster([b, c]);
    const result = await run(["read", "demo.v1.Artist", "web", "--endpoint", `${a}, ${b},${c}`], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Ok);
    expect(reads).toEqual([b]);
    expect(result.stderr).toBe(
      `raftstore: no answer from ${a} (connect ECONNREFUSED 10.0.0.1:7001); using ${b}\n`,
    );
  });

  it("takes them from RAFTSTORE_ENDPOINT too, and says nothing when the first answers", async () => {
    const { nodes, reads } = cluster([a, b]);
    const result = await run(["read", "demo.v1.Artist", "web"], {
      createTransport: nodes.createTransport,
      env: { RAFTSTORE_ENDPOINT: `${a},${b}` },
    });
    expect(result.code).toBe(ExitCode.Ok);
    expect(reads).toEqual([a]);
    expect(result.stderr).toBe("");
  });

  it("fails with exit code 5 when none answers, naming each", async () => {
    const { nodes } = cluster([]);
    const result = await run(["read", "demo.v1.Artist", "web", "--endpoint", `${a},${b}`], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Unavailable);
    expect(result.stderr).toContain(
      `cannot reach any endpoint: ${a} (connect ECONNREFUSED 10.0.0.1:7001), ${b} (connect ECONNREFUSED 10.0.0.2:7001)`,
    );
  });

  it("asks nothing first when given one endpoint", async () => {
    const { nodes } = cluster([a]);
    const result = await run(["read", "demo.v1.Artist", "web", "--endpoint", a], {
      createTransport: nodes.createTransport,
    });
    expect(result.code).toBe(ExitCode.Ok);
    expect(nodes.connected).toEqual([a]);
  });

  it("refuses a list with no endpoint in it", async () => {
    const result = await run(["read", "demo.v1.Artist", "web", "--endpoint", " , "]);
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain("--endpoint: expected a URL");
  });

  it("watch --follow moves to the next node when its node goes, once a strong read there passed", async () => {
    const calls: string[] = [];
    const nodes = fakeNodes((url) => (router: ConnectRouter) => {
      router.service(OperatorService, { listMembers: () => ({ members: [] }) });
      router.service(ResourceService, {
        read(request) {
          calls.push(`${url} read ${ReadConsistency[request.consistency]}`);
          throw new ConnectError("not found", Code.NotFound);
        },
        async *watchList(_request, context) {
          calls.push(`${url} watch`);
          yield upsert(artist("web", "1"));
          yield create(WatchListResponseSchema, {
            event: { event: { case: "endOfSnapshot", value: {} } },
          });
          if (url === a) throw new ConnectError("connection reset", Code.Unavailable);
          yield upsert(artist("web", "2"));
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
        },
      });
    });
    const lines: string[] = [];
    let stop: ((request: StopRequest) => void) | undefined;
    const result = await run(["watch", "demo.v1.Artist", "--follow", "--endpoint", `${a},${b}`], {
      createTransport: nodes.createTransport,
      onStarted: (s) => {
        stop = s;
      },
      onStdoutLine: (line) => {
        lines.push(line);
        if (lines.length === 3) stop?.("SIGINT");
      },
    });
    expect(result.code).toBe(ExitCode.Ok);
    expect(lines.map((l) => Object.keys(JSON.parse(l))[0])).toEqual([
      "upsert",
      "endOfSnapshot",
      "upsert",
    ]);
    expect(calls).toEqual([`${a} watch`, `${b} read STRONG`, `${b} watch`]);
    expect(result.stderr).toContain(`re-opening the watch on ${b}`);
  });
});
