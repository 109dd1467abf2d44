import { type Entry, entryChecksum } from "@raftstore/raft";
import { InvalidEntryError, LogIndexError } from "./errors.js";
import { maxEntryDataBytes } from "./wal-format.js";

/**
 * Checks that `entries` continue the log at `nextIndex` and that each one is well formed and
 * matches its own checksum. Runs before anything is queued, so a refused append changes nothing
 * (and a damaged entry never reaches the disk, where it would look like a good one).
 */
export function validateAppend(entries: readonly Entry[], nextIndex: number): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Entry;
    if (entry.index !== nextIndex + i) {
      throw new LogIndexError(
        "append",
        `entry ${nextIndex + i} (appends continue the log without a gap)`,
        i === 0 ? `entry ${entry.index}` : `entry ${entry.index} at position ${i} of the batch`,
      );
    }
    if (!Number.isSafeInteger(entry.term) || entry.term < 0) {
      throw new InvalidEntryError(
        entry.index,
        `expected a non-negative integer term, found ${entry.term}`,
      );
    }
    if (!Number.isInteger(entry.type) || entry.type < 0 || entry.type > 255) {
      throw new InvalidEntryError(
        entry.index,
        `expected an entry type from 0 to 255, found ${entry.type}`,
      );
    }
    if (!(entry.data instanceof Uint8Array)) {
      throw new InvalidEntryError(entry.index, "expected its data to be a Uint8Array");
    }
    if (entry.data.byteLength > maxEntryDataBytes) {
      throw new InvalidEntryError(
        entry.index,
        `expected at most ${maxEntryDataBytes} bytes of data, found ${entry.data.byteLength}`,
      );
    }
    const computed = entryChecksum(entry.index, entry.term, entry.type, entry.data);
    if (computed !== entry.checksum) {
      throw new InvalidEntryError(
        entry.index,
        `its checksum ${hex(entry.checksum)} does not match its contents (computed ${hex(computed)})`,
      );
    }
  }
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}
