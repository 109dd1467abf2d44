import {
  Compare_CompareResult,
  Compare_CompareTarget,
  KV,
} from "../gen/etcd/etcdserverpb/rpc_pb.js";
import { createClientPool, type KvTarget } from "./kv-target.js";

const utf8 = new TextEncoder();

/**
 * A KvTarget over etcd's own gRPC API (etcdserverpb.KV): Put, a Txn comparing the key's
 * mod_revision for CAS, and Range, linearizable or serializable. The same Connect gRPC client
 * stack as raftstore's target, over the same kind of HTTP/2 connections.
 */
export function createEtcdTarget(urls: readonly string[]): KvTarget {
  const pool = createClientPool(KV, urls);
  return {
    name: "etcd",
    async put(client, key, value) {
      const response = await pool.client(client).put({ key: utf8.encode(key), value });
      return String(response.header?.revision ?? 0n);
    },
    async cas(client, key, version, value) {
      const encodedKey = utf8.encode(key);
      const response = await pool.client(client).txn({
        compare: [
          {
            result: Compare_CompareResult.EQUAL,
            target: Compare_CompareTarget.MOD,
            key: encodedKey,
            targetUnion: { case: "modRevision", value: BigInt(version) },
          },
        ],
        success: [{ request: { case: "requestPut", value: { key: encodedKey, value } } }],
      });
      return response.succeeded ? String(response.header?.revision ?? 0n) : undefined;
    },
    async get(client, key, mode) {
      const response = await pool
        .client(client)
        .range({ key: utf8.encode(key), serializable: mode === "serializable" });
      const kv = response.kvs[0];
      return kv === undefined ? undefined : { value: kv.value, version: String(kv.modRevision) };
    },
    close: () => pool.close(),
  };
}
