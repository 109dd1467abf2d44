import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { quotaExceededHeader, ResourceService } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { startRaftstoreCluster } from "./raftstore-cluster.js";

const type = { group: "demo", groupVersion: "v1", kind: "Blob" };
const id = (name: string) => ({ name, type, tenancy: {} });
/** A resource of about 1 MB, under the default --max-resource-bytes (1 MiB). */
const blob = (name: string) => ({ resource: { id: id(name), metadata: { b: "x".repeat(1e6) } } });

// Without a quota, a node whose store outgrows the heap dies with "JavaScript heap out of
// memory" (packages/server/README.md, "Store quota", measured it at the 120th–125th such write
// with a 160 MiB heap). With the default quota, a quarter of the heap limit, it refuses writes
// well before that and keeps serving.
describe("the store quota of a real node with a small heap", () => {
  it("refuses writes at the default quota, with the node still serving, and takes them again once there is room", async () => {
    const cluster = await startRaftstoreCluster({
      size: 1,
      nodeArgs: ["--max-old-space-size=96"],
    });
    try {
      const exited = cluster.failOnExit("keep serving at its quota");
      const client = createClient(
        ResourceService,
        createGrpcTransport({ baseUrl: cluster.urls[0] as string }),
      );
      const fill = async () => {
        for (let i = 0; i < 200; i++) {
          const error = await client.write(blob(`b${i}`)).then(
            () => undefined,
            (e: unknown) => ConnectError.from(e),
          );
          if (error !== undefined) return { written: i, error };
        }
        return { written: 200, error: undefined };
      };
      const { written, error } = await Promise.race([fill(), exited]);
      expect(error?.code, String(error)).toBe(Code.ResourceExhausted);
      expect(error?.metadata.get(quotaExceededHeader)).toBe("1");
      expect(error?.rawMessage).toMatch(/past its quota of/);
      // A quarter of a 96 MiB old space and its young generation: 30–40 writes of 1 MB.
      expect(written).toBeGreaterThan(15);
      expect(written).toBeLessThan(60);

      const metrics = await (await fetch(`${cluster.urls[0]}/metrics`)).text();
      const quota = Number(metrics.match(/raftstore_store_quota_bytes (\d+)/)?.[1]);
      const bytes = Number(metrics.match(/raftstore_store_bytes (\d+)/)?.[1]);
      expect(bytes).toBeLessThanOrEqual(quota);
      expect(bytes).toBeGreaterThan(quota - 2e6);

      // Deletes go through at the quota, and make room for the refused write.
      await client.delete({ id: id("b0") });
      await client.delete({ id: id("b1") });
      const again = await client.write(blob(`b${written}`));
      expect(again.resource?.id?.name).toBe(`b${written}`);
    } finally {
      await cluster.close();
    }
  }, 120_000);
});
