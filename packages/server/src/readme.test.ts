import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ReadConsistency, ResourceService } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { startNode } from "./node.js";
import { freePort } from "./test-support/cluster.js";

describe("the README example", () => {
  it("runs a one-node cluster and talks to it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "raftstore-readme-"));
    const address = `127.0.0.1:${await freePort()}`;
    try {
      const config = loadConfig({
        flags: {
          id: "n1",
          dataDir,
          listen: address,
          initialCluster: `n1=${address}`,
          logLevel: "silent",
        },
        env: process.env,
      });
      const node = await startNode(config);

      const client = createClient(ResourceService, createGrpcTransport({ baseUrl: node.url }));
      const type = { group: "demo", groupVersion: "v1", kind: "Artist" };
      let written: Awaited<ReturnType<typeof client.write>> | undefined;
      while (written === undefined) {
        written = await client
          .write({ resource: { id: { name: "web", type } } })
          .catch(() => undefined);
      }
      const { resource } = await client.read({
        id: { name: "web", type },
        consistency: ReadConsistency.STRONG,
      });

      await node.close();
      expect(resource?.version).toBe(written.resource?.version);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
