import { Code, ConnectError } from "@connectrpc/connect";
import { ReadConsistency, ResourceService } from "@raftstore/proto";
import { createClientPool, type KvTarget } from "./kv-target.js";

/** The resource type benchmark keys are stored as. */
export const benchType = { group: "bench", groupVersion: "v1", kind: "Value" };
const tenancy = { partition: "default", namespace: "default" };
const typeUrl = "type.googleapis.com/raftstore.bench.Value";

/**
 * A KvTarget over raftstore's public ResourceService (gRPC): a key is a resource name, its value
 * the resource's data (an Any of the value's bytes). Put is a blanket Write (the node reads,
 * then compare-and-swaps, retrying on conflict); CAS is a Write with the version; reads are
 * Read with STRONG or EVENTUAL consistency.
 */
export function createRaftstoreTarget(urls: readonly string[]): KvTarget {
  const pool = createClientPool(ResourceService, urls);
  const id = (name: string) => ({ name, type: benchType, tenancy });
  return {
    name: "raftstore",
    async put(client, key, value) {
      const response = await pool
        .client(client)
        .write({ resource: { id: id(key), data: { typeUrl, value } } });
      return response.resource?.version ?? "";
    },
    async cas(client, key, version, value) {
      try {
        const response = await pool
          .client(client)
          .write({ resource: { id: id(key), version, data: { typeUrl, value } } });
        return response.resource?.version ?? "";
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.Aborted) return undefined;
        throw error;
      }
    },
    async get(client, key, mode) {
      try {
        const response = await pool.client(client).read({
          id: id(key),
          consistency: mode === "linearizable" ? ReadConsistency.STRONG : ReadConsistency.EVENTUAL,
        });
        const resource = response.resource;
        return resource === undefined
          ? undefined
          : { value: resource.data?.value ?? new Uint8Array(), version: resource.version };
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
        throw error;
      }
    },
    close: () => pool.close(),
  };
}
