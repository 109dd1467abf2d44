import { describe, expect, it } from "vitest";
import { explainDataDirError, listenAdvice } from "./errors.js";

const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

describe("the advice for a data directory that cannot be opened", () => {
  it.each(["WalCorruptionError", "StableStateCorruptionError", "SnapshotCorruptionError"])(
    "for %s keeps the directory, warns against an empty one under the same id, and names the recovery that exists",
    (name) => {
      const error = explainDataDirError(failure(name, "checksum mismatch at offset 40"), "/d/n1");
      expect(error.name).toBe("NodeStartError");
      expect(error.message).toContain("cannot open data directory /d/n1:");
      expect(error.message).toContain("checksum mismatch at offset 40");
      expect(error.message).toContain("Move the directory aside");
      expect(error.message).toContain("Do not start this --id again with an empty --data-dir");
      expect(error.message).toContain("raftstore snapshot restore FILE");
      // Nothing a user cannot do: there is no command that adds or replaces a member.
      expect(error.message).not.toMatch(
        /add it to the cluster|rejoin|NEW --id|catch up from its peers/,
      );
    },
  );

  it("never advises an empty directory for a format this version cannot read", () => {
    const error = explainDataDirError(failure("UnsupportedFormatError", "format 9"), "/d/n1");
    expect(error.message).toContain("run that version");
    expect(error.message).not.toContain("empty --data-dir");
  });

  it("keeps the message of a failure it has no advice for", () => {
    const error = explainDataDirError(new Error("EACCES: permission denied"), "/d/n1");
    expect(error.message).toBe("cannot open data directory /d/n1: EACCES: permission denied");
  });
});

describe("the advice for an address the node cannot listen on", () => {
  const code = (c: string) => Object.assign(new Error(c), { code: c });
  it.each([
    ["EADDRINUSE", /Another process is using the port/],
    ["EACCES", /Ports below 1024 need privileges/],
    ["ENOTFOUND", /host name does not resolve/],
    ["EAI_AGAIN", /host name does not resolve/],
    ["EADDRNOTAVAIL", /No network interface of this machine has that address/],
    ["EOTHER", /^Check the address and the port\.$/],
  ])("for %s says what to do about it", (c, advice) => {
    expect(listenAdvice(code(c))).toMatch(advice);
  });

  it("never blames another process for a name that does not resolve", () => {
    expect(listenAdvice(code("ENOTFOUND"))).not.toMatch(/another process/i);
  });
});
