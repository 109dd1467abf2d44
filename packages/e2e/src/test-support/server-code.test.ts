import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { serverCode } from "./server-code.js";

describe("serverCode", () => {
  it("is the code of an answer that carries a grpc-status", () => {
    const answer = new ConnectError("CAS failed", Code.Aborted, { "grpc-status": "10" });
    expect(serverCode(answer)).toBe(Code.Aborted);
  });

  it("is undefined for a call that failed on the way, even when connect says Aborted", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(
      serverCode(new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined, reset)),
    ).toBe(undefined);
    expect(serverCode(new Error("socket hang up"))).toBe(undefined);
  });
});
