import { defaultServerConditions } from "vite";
import { defineProject } from "vitest/config";

// The "@raftstore/source" condition resolves sibling packages to their TypeScript sources, so
// tests never need a build first. The node environment uses vite's SSR resolver, hence ssr.resolve.
export default defineProject({
  ssr: { resolve: { conditions: ["@raftstore/source", ...defaultServerConditions] } },
  test: {
    name: "@raftstore/raft-transport",
    environment: "node",
    include: ["src/**/*.test.ts"],
    // Tests run real sockets and real timers on a shared machine: allow for a slow moment.
    testTimeout: 30_000,
  },
});
