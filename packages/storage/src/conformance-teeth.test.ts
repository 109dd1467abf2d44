import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { Bugs } from "./testing/reference-backend.js";

// A suite that passes everything proves nothing. Each deliberately broken reference backend
// runs the whole suite in a child vitest, and the cases that guard against its bug must fail.

const run = promisify(execFile);
const vitestBin = join(
  createRequire(import.meta.url).resolve("vitest/package.json"),
  "../vitest.mjs",
);
const config = join(import.meta.dirname, "test-support/broken-variant.vitest.config.ts");

interface JsonReport {
  testResults: Array<{ assertionResults: Array<{ fullName: string; status: string }> }>;
}

async function runWith(bug: keyof Bugs): Promise<{ failed: string[]; passed: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), "raftstore-teeth-"));
  try {
    const outputFile = join(dir, "report.json");
    await run(
      process.execPath,
      [vitestBin, "run", "--config", config, "--reporter=json", `--outputFile=${outputFile}`],
      { env: { ...process.env, RAFTSTORE_BUG: bug }, timeout: 120_000 },
    ).catch(() => undefined); // failing tests make vitest exit non-zero: that is the point
    const report = JSON.parse(await readFile(outputFile, "utf8")) as JsonReport;
    const tests = report.testResults.flatMap((file) => file.assertionResults);
    const named = (status: string) =>
      tests.filter((t) => t.status === status).map((t) => t.fullName);
    return { failed: named("failed"), passed: named("passed") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const expectations: Record<keyof Bugs, string[]> = {
  ignoreUid: [
    "Read Eventual Consistency different uid",
    "Read Strong Consistency different uid",
    "CAS Write uid immutability",
    "CAS Delete uid must match",
  ],
  keepVersion: [
    "CAS Write version-based CAS",
    "Contract the version changes on every write",
    "Contract of concurrent CAS writers on one version, exactly one succeeds",
  ],
  eventOnFailedCAS: ["Contract failed and no-op operations publish no event"],
  duplicateEvents: [
    "WatchList simple #1 - following events",
    "Contract a watch opened during a burst of writes sees every later change exactly once, in order",
  ],
  overwriteAnyState: [
    "Overwrite refuses when the stored owner or status differs from the resource's",
  ],
  deleteAnyIncarnation: [
    "DeleteIncarnation leaves another incarnation alone, and publishes only the delete it made",
  ],
};

describe("the conformance suite", () => {
  for (const [bug, mustFail] of Object.entries(expectations)) {
    it.concurrent(`catches a backend with the bug "${bug}"`, async () => {
      const { failed, passed } = await runWith(bug as keyof Bugs);
      expect(failed).toEqual(expect.arrayContaining(mustFail));
      // The bug is caught by the cases that guard against it, not by a run that broke.
      expect(passed).toContain("Read Strong Consistency simple");
      expect(passed.length).toBeGreaterThan(failed.length);
    }, 180_000);
  }
});
