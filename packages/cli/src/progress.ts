import cliProgress from "cli-progress";
import type { OutputStream } from "./io.js";

/** Progress of a long transfer, shown on stderr when it is a terminal, and nothing otherwise. */
export interface Progress {
  /** `done` bytes so far. */
  update(done: number): void;
  /** Removes the bar (idempotent). */
  stop(): void;
}

/** `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A progress bar for `label` on `stream`: a bar with a percentage when the total is known,
 * a running byte count when it is not (a snapshot being saved has no size until it ends).
 * Never drawn when the stream is not a TTY: piped stderr gets no control characters.
 */
export function createProgress(stream: OutputStream, label: string, totalBytes?: number): Progress {
  if (stream.isTTY !== true) return { update() {}, stop() {} };
  const known = totalBytes !== undefined && totalBytes > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: known
        ? `${label} [{bar}] {percentage}% | {done} of {all} | ETA {eta_formatted}`
        : `${label} | {done} | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const all = known ? formatBytes(totalBytes) : "";
  bar.start(known ? totalBytes : 1, 0, { done: formatBytes(0), all });
  let stopped = false;
  return {
    update(done) {
      if (!stopped) bar.update(known ? done : 0, { done: formatBytes(done), all });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
