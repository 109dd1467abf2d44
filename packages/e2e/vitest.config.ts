import { defaultServerConditions } from "vite";
import { defineProject } from "vitest/config";

// The "@raftstore/source" condition resolves sibling packages to their TypeScript sources, so
// tests never need a build first. The node environment uses vite's SSR resolver, hence ssr.resolve.
// Files run one at a time: each fault test runs a cluster of three node processes, and two
// clusters at once on a 2-core machine would measure the machine, not the cluster.
export default defineProject({
  ssr: { resolve: { conditions: ["@raftstore/source", ...defaultServerConditions] } },
  test: {
    name: "@raftstore/e2e",
    environment: "node",
    include: ["src/**/*.test.ts"],
    fileParallelism: false,
  },
});
