import { create } from "@bufbuild/protobuf";
import { type ConnectRouter, createRouterTransport, type Transport } from "@connectrpc/connect";
import { type Resource, ResourceSchema } from "@raftstore/proto";

/** A resource of type demo.v1.Artist in default/default. */
export function artist(name: string, version = "1"): Resource {
  return create(ResourceSchema, {
    id: {
      uid: `uid-${name}`,
      name,
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    },
    version,
  });
}

/**
 * Transports to fake nodes: `routes(baseUrl)` registers what the node at that URL serves
 * (methods left out answer Unimplemented). Counts the nodes the CLI connected to.
 */
export function fakeNodes(routes: (baseUrl: string) => (router: ConnectRouter) => void) {
  const connected: string[] = [];
  return {
    connected,
    createTransport(baseUrl: string): Transport {
      connected.push(baseUrl);
      return createRouterTransport(routes(baseUrl));
    },
  };
}
