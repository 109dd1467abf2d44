import type { WriteRecord } from "./register-values.js";
import type { Seen, WatchSession } from "./watch-observer.js";

// What a watch through any node must show, checked against what the clients know of their
// writes. Versions are Raft log indexes, so after end_of_snapshot one stream's events carry
// strictly increasing versions across all keys, and a write with version V was committed after
// a snapshot that shows its key at a lower version.
//
// Per session:
//  - nothing invented: every value shown was written by a client, to that key, and not by a
//    write that definitely failed; an acknowledged write shows with the version it was
//    acknowledged with;
//  - exactly once, in order: versions strictly increase, and no change repeats what the
//    snapshot already showed for its key;
//  - nothing skipped: every acknowledged write committed after the snapshot (its version above
//    the snapshot's version of its key) and no later than the newest change the session saw is
//    among the session's changes.
// A session that ended (Aborted by a restore, or its node went down) is replaced by a new one
// with a fresh snapshot; writes between the two are covered by that snapshot, not by changes.

const describe = (s: Seen) => `${s.key}@${s.version}=${s.value ?? "(no value)"}`;

function checkShown(
  where: string,
  seen: Seen,
  writes: ReadonlyMap<string, WriteRecord>,
  problems: string[],
): void {
  const write = seen.value === undefined ? undefined : writes.get(seen.value);
  if (write === undefined || write.key !== seen.key) {
    problems.push(`${where}: ${describe(seen)} was never written by a client`);
  } else if (write.status === "failed") {
    problems.push(`${where}: ${describe(seen)} comes from a write that failed with Aborted`);
  } else if (write.status === "ok" && write.version !== seen.version) {
    problems.push(
      `${where}: ${describe(seen)} was acknowledged with version ${write.version}, shown with ${seen.version}`,
    );
  }
}

/** The problems found in the sessions of one watch; empty when it behaved. */
export function checkWatchSessions(
  sessions: readonly WatchSession[],
  writes: ReadonlyMap<string, WriteRecord>,
): string[] {
  const problems: string[] = [];
  const acknowledged = [...writes.values()].filter((w) => w.status === "ok");
  sessions.forEach((session, index) => {
    const name = `watch via ${session.node}, session ${index + 1}`;
    for (const seen of session.snapshot.values()) {
      checkShown(`${name} snapshot`, seen, writes, problems);
    }
    let previous: bigint | undefined;
    const changed = new Set<string>();
    for (const change of session.changes) {
      const where = `${name} change`;
      if (change.kind === "delete") {
        problems.push(`${where}: ${describe(change)} is a delete; the clients never delete`);
        continue;
      }
      checkShown(where, change, writes, problems);
      const version = BigInt(change.version);
      if (previous !== undefined && version <= previous) {
        problems.push(
          `${where}: ${describe(change)} follows version ${previous}: out of order or a duplicate`,
        );
      }
      const inSnapshot = session.snapshot.get(change.key);
      if (inSnapshot !== undefined && version <= BigInt(inSnapshot.version)) {
        problems.push(
          `${where}: ${describe(change)} repeats or precedes what the snapshot showed (${describe(inSnapshot)})`,
        );
      }
      previous = previous === undefined || version > previous ? version : previous;
      if (change.value !== undefined) changed.add(change.value);
    }
    if (!session.endOfSnapshot || previous === undefined) return;
    const newest = previous;
    for (const write of acknowledged) {
      const version = BigInt(write.version ?? "0");
      const inSnapshot = session.snapshot.get(write.key);
      const afterSnapshot = inSnapshot === undefined || version > BigInt(inSnapshot.version);
      if (afterSnapshot && version <= newest && !changed.has(write.value)) {
        problems.push(
          `${name}: skipped the acknowledged write ${write.key}@${write.version}=${write.value} ` +
            `(after the snapshot, before the change at ${newest})`,
        );
      }
    }
  });
  return problems;
}
