import { Code, ConnectError } from "@connectrpc/connect";
import { outcomeHeader, quotaExceededHeader } from "@raftstore/proto";
import { ConfigError, NodeStartError } from "@raftstore/server";
import { SnapshotFormatError } from "@raftstore/snapshot";
import { describe, expect, it } from "vitest";
import { describeError } from "./describe-error.js";
import { CommandFailedError, InvalidInputError, UsageError } from "./errors.js";
import { ExitCode, exitCodeForRpc } from "./exit-codes.js";

const context = { command: "raftstore read", endpoint: "http://127.0.0.1:7001" };

describe("exit codes", () => {
  it("tells retry-later from re-read from fix-the-request", () => {
    expect(exitCodeForRpc(Code.NotFound)).toBe(3);
    expect(exitCodeForRpc(Code.Aborted)).toBe(4);
    expect(exitCodeForRpc(Code.FailedPrecondition)).toBe(4);
    expect(exitCodeForRpc(Code.Unavailable)).toBe(5);
    expect(exitCodeForRpc(Code.DeadlineExceeded)).toBe(5);
    expect(exitCodeForRpc(Code.Canceled)).toBe(5); // by the other end: ours exit with 130
    expect(exitCodeForRpc(Code.InvalidArgument)).toBe(6);
    // A message too large: waiting does not make the same request smaller.
    expect(exitCodeForRpc(Code.ResourceExhausted)).toBe(6);
    expect(exitCodeForRpc(Code.Internal)).toBe(1);
    expect(exitCodeForRpc(Code.Unimplemented)).toBe(1);
  });

  it.each([
    [
      new UsageError("bad flag"),
      ExitCode.Usage,
      "bad flag\nRun `raftstore read --help` for usage.",
    ],
    [new ConfigError(["--id is required"]), ExitCode.Usage, "--id is required"],
    [
      new InvalidInputError("stdin is not valid JSON"),
      ExitCode.InvalidArgument,
      "stdin is not valid JSON",
    ],
    [new CommandFailedError("port busy"), ExitCode.Failure, "port busy"],
    [new CommandFailedError("interrupted", { exitCode: 130 }), 130, "interrupted"],
    [new NodeStartError("cannot open data directory /d: locked"), ExitCode.Failure, "locked"],
    [
      new SnapshotFormatError("truncated", 40, "ended"),
      ExitCode.InvalidArgument,
      "the snapshot is damaged",
    ],
    [new Error("something odd"), ExitCode.Failure, "something odd"],
  ])("reports %s with its exit code", (error, exitCode, message) => {
    const report = describeError(error, context);
    expect(report.exitCode).toBe(exitCode);
    expect(report.message).toContain(message);
  });

  it("says what to do about an unreachable node, a cluster without leader, a timeout", () => {
    const refused = describeError(
      new ConnectError("connect ECONNREFUSED 127.0.0.1:7001", Code.Unavailable),
      context,
    );
    expect(refused.message).toContain("cannot reach http://127.0.0.1:7001 (connect ECONNREFUSED");
    const noLeader = describeError(
      new ConnectError("cannot satisfy consistency requirements", Code.Unavailable),
      context,
    );
    expect(noLeader.message).toContain("no leader or no quorum right now: retry");
    const timeout = describeError(
      new ConnectError("the operation timed out", Code.DeadlineExceeded),
      context,
    );
    expect(timeout.message).toContain("did not answer within --timeout");
  });

  it("says a message was too large, and what the limits are, rather than to retry", () => {
    const report = describeError(
      new ConnectError(
        "message size is larger than configured readMaxBytes 1114112",
        Code.ResourceExhausted,
      ),
      context,
    );
    expect(report.exitCode).toBe(ExitCode.InvalidArgument);
    expect(report.message).toBe(
      "too large: message size is larger than configured readMaxBytes 1114112\nThe nodes refuse a resource larger than their --max-resource-bytes (1 MiB unless set otherwise): store less in one resource, or split it into several.",
    );
  });

  it("tells a store at its quota from a request too large, with an exit code of its own", () => {
    const full = new ConnectError(
      "write refused: it would grow the store to 1024.1 MiB (1073848320 bytes), past its quota of 1024.0 MiB (1073741824 bytes)",
      Code.ResourceExhausted,
      new Headers({ [quotaExceededHeader]: "1" }),
    );
    const report = describeError(full, { ...context, command: "raftstore write" });
    expect(report.exitCode).toBe(ExitCode.QuotaExceeded);
    expect(report.exitCode).toBe(7);
    expect(report.message).toMatch(/^the store is full: write refused: it would grow the store/);
    expect(report.message).toContain("Nothing was changed. Deletes still work");
    expect(report.message).toContain("raising --quota-bytes takes a restart of each node");
    // Without the node's header, a ResourceExhausted is a request too large, whatever it says.
    const unmarked = new ConnectError("quota of something", Code.ResourceExhausted);
    expect(describeError(unmarked, context).exitCode).toBe(ExitCode.InvalidArgument);
  });

  it("says that a change whose outcome is unknown may have taken effect, and what to do", () => {
    const lost = new ConnectError(
      "leader unreachable: the stream was reset",
      Code.Unavailable,
      new Headers({ [outcomeHeader]: "unknown" }),
    );
    const write = describeError(lost, { ...context, command: "raftstore write" });
    expect(write.exitCode).toBe(ExitCode.Unavailable);
    expect(write.message).toContain("It may or may not have taken effect.");
    // A read has nothing to undo: it gets the usual advice.
    expect(describeError(lost, context).message).toContain("retry in a moment");
    // Without the node's word, whatever the message says, the change was not made.
    const refused = new ConnectError("no leader; the outcome is unknown", Code.Unavailable);
    const again = describeError(refused, { ...context, command: "raftstore write" });
    expect(again.message).not.toContain("It may or may not have taken effect.");
    expect(again.message).toContain("retry in a moment");
  });

  it("says that a change cut off by --timeout may have taken effect", () => {
    const late = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    const write = describeError(late, { ...context, command: "raftstore delete" });
    expect(write.message).toContain("It may or may not have taken effect.");
    expect(describeError(late, context).message).not.toContain("may or may not");
  });

  it("says the kind of a storage error once", () => {
    const error = new ConnectError(
      "invalid argument: status.observedGeneration must be a ULID",
      Code.InvalidArgument,
    );
    expect(describeError(error, context).message).toBe(
      "invalid argument: status.observedGeneration must be a ULID",
    );
  });

  it("prefers the command's own words, and shows the server's only with --debug", () => {
    const error = new ConnectError("resource not found", Code.NotFound);
    const hints = { [Code.NotFound]: 'demo.v1.Artist "web" in default/default does not exist' };
    expect(describeError(error, { ...context, hints }).message).toBe(
      'not found: demo.v1.Artist "web" in default/default does not exist',
    );
    expect(describeError(error, { ...context, hints, debug: true }).message).toContain(
      "(the server said: resource not found)",
    );
  });
});
