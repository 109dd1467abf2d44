import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { OutputStream } from "./io.js";
import { createProgress, formatBytes } from "./progress.js";

function terminal(isTTY: boolean): OutputStream & { text: string } {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      stream.text += String(chunk);
      done();
    },
  }) as Writable & { text: string; isTTY: boolean };
  stream.text = "";
  stream.isTTY = isTTY;
  return stream;
}

describe("progress", () => {
  it("draws a bar with the bytes done and the total on a terminal, and clears it at the end", () => {
    const stream = terminal(true);
    const progress = createProgress(stream, "restoring snapshot", 4 * 1024 * 1024);
    progress.update(1024 * 1024);
    progress.stop();
    progress.stop();
    expect(stream.text).toContain("restoring snapshot [");
    expect(stream.text).toContain("of 4.0 MiB");
  });

  it("counts bytes when the total is unknown", () => {
    const stream = terminal(true);
    const progress = createProgress(stream, "saving snapshot");
    progress.update(2048);
    progress.stop();
    expect(stream.text).toContain("saving snapshot | ");
  });

  it("writes nothing when the stream is not a terminal", () => {
    const stream = terminal(false);
    const progress = createProgress(stream, "saving snapshot", 100);
    progress.update(50);
    progress.stop();
    expect(stream.text).toBe("");
  });

  it("prints sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
  });
});
