import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { CliIo, StopRequest } from "./io.js";
import { DUPLICATE_STOP_WINDOW_MS, guardStops } from "./stop-guard.js";
import { run } from "./test-support/run-cli.js";

function fakeIo() {
  const listeners = new Set<(request: StopRequest) => void>();
  const exits: number[] = [];
  const io = {
    stderr: { write: () => true },
    onStop(listener: (request: StopRequest) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exitNow: (code: number) => exits.push(code),
  } as unknown as CliIo;
  const send = (request: StopRequest) => {
    for (const listener of [...listeners]) listener(request);
  };
  return { io, send, exits, listeners };
}

describe("stop requests", () => {
  it("abort the command at the first, and count a second at once as the same keypress", () => {
    const { io, send, exits } = fakeIo();
    const firsts: StopRequest[] = [];
    const guard = guardStops(io, { onFirst: (r) => firsts.push(r) });
    send("SIGINT");
    send("SIGINT"); // the terminal's and npm's copy of one Ctrl-C
    expect(guard.signal.aborted).toBe(true);
    expect(guard.request).toBe("SIGINT");
    expect(firsts).toEqual(["SIGINT"]);
    expect(exits).toEqual([]);
    guard[Symbol.dispose]();
  });

  it("end the process at once on a second request after the window", async () => {
    const { io, send, exits } = fakeIo();
    let forced = false;
    using _guard = guardStops(io, { onForce: () => (forced = true) });
    send("SIGTERM");
    await sleep(DUPLICATE_STOP_WINDOW_MS + 50);
    send("SIGTERM");
    expect(forced).toBe(true);
    expect(exits).toEqual([143]);
  });

  it("are no longer listened to once the command ended", () => {
    const { io, listeners } = fakeIo();
    const guard = guardStops(io);
    guard[Symbol.dispose]();
    expect(listeners.size).toBe(0);
  });

  it("end a client command with 130 and say it was interrupted", async () => {
    // A node that never answers: the TCP connection is accepted, no HTTP/2 response comes.
    const { createServer } = await import("node:net");
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const result = await run(
        ["read", "demo.v1.Artist", "web", "--endpoint", `127.0.0.1:${port}`],
        {
          onStarted: (stop) => setTimeout(() => stop("SIGINT"), 200),
        },
      );
      expect(result.code).toBe(130);
      expect(result.stderr).toBe("raftstore read: interrupted by SIGINT\n");
    } finally {
      server.close();
    }
  });
});
