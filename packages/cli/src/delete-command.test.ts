import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { ResourceService } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { ExitCode } from "./exit-codes.js";
import { fakeNodes } from "./test-support/fake-cluster.js";
import { run } from "./test-support/run-cli.js";

/** A node whose deletes all fail with Aborted, as a conflict does. */
const conflicting = () => (router: ConnectRouter) =>
  router.service(ResourceService, {
    delete() {
      throw new ConnectError("CAS operation failed", Code.Aborted);
    },
  });

describe("raftstore delete", () => {
  it("says what a conflict means, with and without --if-version", async () => {
    const nodes = fakeNodes(conflicting);
    const endpoint = ["--endpoint", "http://10.0.0.1:7001"];
    const options = { createTransport: nodes.createTransport };
    const conditional = await run(
      ["delete", "demo.v1.Artist", "web", "--if-version", "7", ...endpoint],
      options,
    );
    expect(conditional.code).toBe(ExitCode.Conflict);
    expect(conditional.stderr).toContain('the stored version is not "7"');
    // A blanket delete names no version: the message must not invent one.
    const blanket = await run(["delete", "demo.v1.Artist", "web", ...endpoint], options);
    expect(blanket.code).toBe(ExitCode.Conflict);
    expect(blanket.stderr).toContain("kept changing while it was being deleted");
    expect(blanket.stderr).not.toContain("the stored version is not");
  });
});
