import type { Reporter, SerializedError, TestModule } from "vitest/node";

/**
 * Ends a vitest run with one plain line, `N passed, N failed, N skipped`, which CI reads.
 *
 * A test file that fails to load has no tests but is a failure; so is every unhandled error.
 * Any state other than passed or failed (skipped, todo, pending) counts as skipped.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      let tests = 0;
      for (const test of module.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (tests === 0 && module.state() === "failed") failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
