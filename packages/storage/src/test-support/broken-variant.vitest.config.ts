import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: import.meta.dirname,
  ssr: { resolve: { conditions: ["@raftstore/source", ...defaultServerConditions] } },
  test: { include: ["broken-variant.conformance.ts"], watch: false },
});
