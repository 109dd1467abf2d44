import { describe, expect, it } from "vitest";
import type { WriteRecord } from "./register-values.js";
import { checkWatchSessions } from "./watch-check.js";
import type { Seen, WatchSession } from "./watch-observer.js";

function writes(...records: Array<Omit<WriteRecord, "invokedAt">>): Map<string, WriteRecord> {
  return new Map(records.map((r) => [r.value, { ...r, invokedAt: 0 }]));
}

function session(
  snapshot: Seen[],
  changes: Seen[],
  end?: WatchSession["end"],
  endOfSnapshot = true,
): WatchSession {
  return {
    node: "n2",
    snapshot: new Map(snapshot.map((s) => [s.key, s])),
    endOfSnapshot,
    changes: changes.map((c) => ({ ...c, kind: "upsert" as const })),
    end,
  };
}

const known = writes(
  { key: "a", value: "a1", status: "ok", version: "3" },
  { key: "b", value: "b1", status: "ok", version: "4" },
  { key: "a", value: "a2", status: "ok", version: "7" },
  { key: "b", value: "b2", status: "unknown" },
  { key: "a", value: "a3", status: "ok", version: "12" },
  { key: "b", value: "lost", status: "failed" },
);
const snapshot: Seen[] = [
  { key: "a", value: "a1", version: "3" },
  { key: "b", value: "b1", version: "4" },
];

describe("checkWatchSessions", () => {
  it("accepts a watch that shows every acknowledged change once, in commit order", () => {
    const changes: Seen[] = [
      { key: "a", value: "a2", version: "7" },
      { key: "b", value: "b2", version: "9" },
      { key: "a", value: "a3", version: "12" },
    ];
    expect(checkWatchSessions([session(snapshot, changes)], known)).toEqual([]);
  });

  it("reports a change delivered twice or out of order", () => {
    const changes: Seen[] = [
      { key: "a", value: "a2", version: "7" },
      { key: "a", value: "a2", version: "7" },
      { key: "a", value: "a3", version: "12" },
    ];
    expect(checkWatchSessions([session(snapshot, changes)], known)).toEqual([
      "watch via n2, session 1 change: a@7=a2 follows version 7: out of order or a duplicate",
    ]);
  });

  it("reports a change that repeats what the snapshot already showed", () => {
    const problems = checkWatchSessions(
      [session(snapshot, [{ key: "a", value: "a1", version: "3" }])],
      known,
    );
    expect(problems).toEqual([
      "watch via n2, session 1 change: a@3=a1 repeats or precedes what the snapshot showed (a@3=a1)",
    ]);
  });

  it("reports an acknowledged write the watch skipped", () => {
    const problems = checkWatchSessions(
      [session(snapshot, [{ key: "a", value: "a3", version: "12" }])],
      known,
    );
    expect(problems).toEqual([
      "watch via n2, session 1: skipped the acknowledged write a@7=a2 (after the snapshot, before the change at 12)",
    ]);
  });

  it("reports values nobody wrote, values of refused writes and versions that disagree", () => {
    const problems = checkWatchSessions(
      [
        session(snapshot, [
          { key: "b", value: "ghost", version: "5" },
          { key: "b", value: "lost", version: "6" },
          { key: "a", value: "a2", version: "8" },
        ]),
      ],
      known,
    );
    expect(problems).toEqual([
      "watch via n2, session 1 change: b@5=ghost was never written by a client",
      "watch via n2, session 1 change: b@6=lost comes from a write that failed with Aborted",
      "watch via n2, session 1 change: a@8=a2 was acknowledged with version 7, shown with 8",
    ]);
  });

  it("reports deletes, which the clients never make", () => {
    const s = session(snapshot, []);
    s.changes.push({ key: "a", value: "a1", version: "9", kind: "delete" });
    expect(checkWatchSessions([s], known)).toEqual([
      "watch via n2, session 1 change: a@9=a1 is a delete; the clients never delete",
    ]);
  });

  it("lets a re-listed watch cover the writes it missed with its new snapshot", () => {
    const aborted = session(snapshot, [{ key: "a", value: "a2", version: "7" }], {
      how: "aborted",
      message: "restored",
    });
    const relisted = session(
      [
        { key: "a", value: "a3", version: "12" },
        { key: "b", value: "b2", version: "9" },
      ],
      [],
    );
    expect(checkWatchSessions([aborted, relisted], known)).toEqual([]);
  });
});
