import { defineConfig } from "vitest/config";

// `npm test`: every package's tests in one run. Each package is also its own vitest project
// (packages/*/vitest.config.ts), so `nx test @raftstore/<name>` tests one package alone.
export default defineConfig({
  test: {
    // raft-transport runs its network suites twice, once per receiving path.
    projects: [
      "packages/*/vitest.config.ts",
      "packages/raft-transport/vitest.connect-receiver.config.ts",
    ],
    // The summary reporter prints the run's last line, "N passed, N failed, N skipped".
    reporters: ["default", "./tools/summary-reporter.ts"],
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts"],
      exclude: ["packages/*/src/gen/**", "packages/*/src/**/*.test.ts"],
    },
  },
});
