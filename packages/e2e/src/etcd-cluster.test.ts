import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isEtcdNotFoundError } from "./errors.js";
import { findEtcd } from "./etcd-cluster.js";

// Starting a real etcd cluster is the comparison's job (npm run bench:compare), not CI's: CI
// machines have no etcd. What every machine can check is how etcd is found, or not.

const dir = mkdtempSync(join(tmpdir(), "e2e-etcd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("findEtcd", () => {
  it("says how to install etcd when no PATH directory has it", async () => {
    const error = await findEtcd({ PATH: `${dir}:/nonexistent` }).catch((e: unknown) => e);
    expect(isEtcdNotFoundError(error)).toBe(true);
    expect(String(error)).toContain("apt-get install etcd-server etcd-client");
    expect(String(error)).toContain(dir);
  });

  it("finds an executable named etcd on the PATH, and skips one that is not executable", async () => {
    const notExecutable = join(dir, "plain");
    const executable = join(dir, "bin");
    for (const d of [notExecutable, executable]) mkdirSync(d);
    writeFileSync(join(notExecutable, "etcd"), "");
    writeFileSync(join(executable, "etcd"), "#!/bin/sh\n");
    chmodSync(join(executable, "etcd"), 0o755);
    expect(await findEtcd({ PATH: `${notExecutable}:${executable}` })).toBe(
      join(executable, "etcd"),
    );
  });
});
