import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  KV,
  type RangeRequest,
} from "../gen/etcd/etcdserverpb/rpc_pb.js";

/**
 * An in-memory stand-in for one etcd member's KV service, speaking etcd's gRPC wire format,
 * for testing the etcd target where no etcd is installed. Revisions behave as etcd's do: one
 * store revision, bumped by every put; a key's mod_revision is the revision of its last put.
 * Only what the target uses: Put, Range of one key, Txn comparing mod_revision with EQUAL.
 */
export async function startFakeEtcd(): Promise<{
  url: string;
  /** Every Range request, to check what the client asked for. */
  ranges: RangeRequest[];
  close(): Promise<void>;
}> {
  const decoder = new TextDecoder();
  const store = new Map<string, { value: Uint8Array; modRevision: bigint }>();
  const ranges: RangeRequest[] = [];
  let revision = 1n;
  const header = () => ({ revision, clusterId: 1n, memberId: 1n, raftTerm: 2n });
  const put = (key: Uint8Array, value: Uint8Array) => {
    revision++;
    store.set(decoder.decode(key), { value, modRevision: revision });
  };
  const routes = (router: ConnectRouter) =>
    router.service(KV, {
      put(req) {
        put(req.key, req.value);
        return { header: header() };
      },
      range(req) {
        ranges.push(req);
        const found = store.get(decoder.decode(req.key));
        return {
          header: header(),
          count: found === undefined ? 0n : 1n,
          kvs:
            found === undefined
              ? []
              : [{ key: req.key, value: found.value, modRevision: found.modRevision }],
        };
      },
      txn(req) {
        const holds = req.compare.every((c) => {
          if (c.result !== Compare_CompareResult.EQUAL || c.target !== Compare_CompareTarget.MOD) {
            throw new ConnectError("the fake supports mod_revision == x only", Code.Unimplemented);
          }
          const current = store.get(decoder.decode(c.key))?.modRevision ?? 0n;
          return c.targetUnion.case === "modRevision" && c.targetUnion.value === current;
        });
        for (const op of holds ? req.success : req.failure) {
          if (op.request.case === "requestPut") put(op.request.value.key, op.request.value.value);
        }
        return { header: header(), succeeded: holds };
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
