import { defaultServerConditions } from "vite";
import { defineProject } from "vitest/config";

// The suites that run streams over real sockets, a second time with connect's routes receiving
// them (test-support/node-server.ts): nodes receive with createRaftStreamHandler, while other
// gRPC, Connect and gRPC-Web clients still reach connect's routes, so both paths must behave
// the same. `vitest.config.ts` runs everything with the node's own path.
export default defineProject({
  ssr: { resolve: { conditions: ["@raftstore/source", ...defaultServerConditions] } },
  test: {
    name: "@raftstore/raft-transport (connect receiver)",
    environment: "node",
    include: [
      "src/failures.test.ts",
      "src/malformed-input.test.ts",
      "src/raft-cluster.test.ts",
      "src/tls.test.ts",
      "src/transport.test.ts",
    ],
    env: { RAFTSTORE_TEST_RAFT_RECEIVER: "connect" },
    testTimeout: 30_000,
  },
});
