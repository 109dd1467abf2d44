import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createForwardingTransport, type ForwardingTransport } from "@raftstore/forwarding";

/** Linearizable (confirmed by the leader) or serializable (the member's local, maybe stale) read. */
export type ReadMode = "linearizable" | "serializable";

/**
 * The few key-value operations the benchmarks run, on raftstore or on etcd, so that one harness
 * drives both the same way. `client` is the benchmark client making the call: it picks the
 * connection (each client has its own, to one member, round robin over the members).
 * Versions are opaque strings: a raftstore resource version, an etcd mod revision.
 */
export interface KvTarget {
  readonly name: string;
  /** Writes `value` under `key`, whatever is there; resolves with the new version. */
  put(client: number, key: string, value: Uint8Array): Promise<string>;
  /**
   * Writes `value` under `key` only if the key is still at `version`: resolves with the new
   * version, or undefined when the key was at another version (nothing written).
   */
  cas(client: number, key: string, version: string, value: Uint8Array): Promise<string | undefined>;
  /** The key's value and version, or undefined when nothing is stored. */
  get(
    client: number,
    key: string,
    mode: ReadMode,
  ): Promise<{ value: Uint8Array; version: string } | undefined>;
  /** Closes every connection. */
  close(): void;
}

/**
 * One gRPC client per benchmark client, each on its own HTTP/2 connection to member
 * `client % urls.length`: 64 clients are 64 connections spread evenly over the members, the
 * way 64 separate client processes would be, on raftstore and etcd alike.
 *
 * The clients are connect's, over the lean unary gRPC transport of `@raftstore/forwarding`
 * (one HTTP/2 stream per call, without connect-node's streaming machinery). With connect-node's
 * own transport the harness used about a core at 64 clients on either side, and on a 2-core
 * machine that held back whichever cluster could go faster. Messages are written and read by
 * `toBinaryFast`/`fromBinaryFast`: by hand for raftstore's resource messages, by protobuf-es for
 * everything else, etcd's included.
 */
export function createClientPool<S extends DescService>(
  service: S,
  urls: readonly string[],
): { client(index: number): Client<S>; close(): void } {
  if (urls.length === 0) throw new RangeError("expected at least one member URL");
  const clients = new Map<number, Client<S>>();
  const transports: ForwardingTransport[] = [];
  return {
    client(index) {
      let client = clients.get(index);
      if (client === undefined) {
        const baseUrl = urls[index % urls.length] as string;
        const transport = createForwardingTransport({ baseUrl });
        transports.push(transport);
        client = createClient(service, transport.transport);
        clients.set(index, client);
      }
      return client;
    },
    close() {
      for (const transport of transports) transport.close();
    },
  };
}
