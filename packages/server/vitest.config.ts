import { defaultServerConditions } from "vite";
import { defineProject } from "vitest/config";

// The "@raftstore/source" condition resolves sibling packages to their TypeScript sources, so
// tests never need a build first. The node environment uses vite's SSR resolver, hence ssr.resolve.
export default defineProject({
  ssr: { resolve: { conditions: ["@raftstore/source", ...defaultServerConditions] } },
  test: {
    name: "@raftstore/server",
    environment: "node",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
