import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { ResourceService } from "@raftstore/proto";
import { type Entry, MemoryLogStore } from "@raftstore/raft";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { startNode } from "./node.js";
import { freePort } from "./test-support/cluster.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a node whose engine fails", () => {
  it("stops by itself: stopped resolves and nothing is left unhandled", async () => {
    const dir = await mkdtemp(join(tmpdir(), "raftstore-failure-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    const config = loadConfig({
      flags: {
        id: "n1",
        dataDir: join(dir, "n1"),
        listen: `127.0.0.1:${port}`,
        initialCluster: `n1=127.0.0.1:${port}`,
        tickMs: "20",
        electionTicks: "10",
        logLevel: "silent",
      },
    });
    // A log whose disk fails on demand, as a failed fdatasync does.
    const log = new MemoryLogStore();
    let diskFailed = false;
    const logStore = {
      load: () => log.load(),
      append: (entries: readonly Entry[]) =>
        diskFailed
          ? Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }))
          : log.append(entries),
      truncateAfter: (index: number) => log.truncateAfter(index),
      compact: (index: number) => log.compact(index),
      reset: (index: number) => log.reset(index),
      close: () => log.close(),
    };
    const node = await startNode(config, {
      logger: pino({ level: "silent" }),
      raftOverrides: { logStore },
    });
    cleanups.push(() => node.close().catch(() => undefined));
    const session = new GuardedSessionManager(node.url);
    cleanups.push(() => session.abort());
    const client = createClient(
      ResourceService,
      createGrpcTransport({ baseUrl: node.url, sessionManager: session }),
    );
    const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
    for (;;) {
      const ok = await client.write({ resource: { id: { name: "a", type } } }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    diskFailed = true;
    await expect(client.write({ resource: { id: { name: "b", type } } })).rejects.toThrow();
    await node.stopped; // the test's timeout catches a node that never stops
    // The port is closed: the node is down, not half up.
    await expect(fetch(`${node.url}/healthz`)).rejects.toThrow();
  });
});
