import type { ValidID } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { freezeRecord } from "./record.js";
import { type Slot, Tables } from "./tables.js";
import { idOf, resource } from "./test-support/resources.js";

const web = idOf("web") as ValidID;

function slotOf(tables: Tables): Slot {
  const slot = tables.slot(web);
  if (slot === undefined) throw new Error("no slot for web");
  return slot;
}

describe("Tables slots", () => {
  it("replaces the record in a slot no shared tree holds, and keeps the trees as they were", () => {
    const tables = new Tables();
    tables.put(freezeRecord(resource("web"), "1"), undefined);
    const slot = slotOf(tables);
    const second = freezeRecord(resource("web"), "2");
    tables.put(second, slot);
    expect(slotOf(tables)).toBe(slot);
    expect(slot.record).toBe(second);
    expect(tables.borrow().byId.get([...tables.borrow().byId.keys()][0] as string)).toBe(slot);
  });

  it("never changes a slot a shared tree holds: the next write puts a new slot in its place", () => {
    const tables = new Tables();
    const first = freezeRecord(resource("web"), "1");
    tables.put(first, undefined);
    const shared = tables.share();
    const slot = slotOf(tables);
    tables.put(freezeRecord(resource("web"), "2"), slot);
    expect(slot.record).toBe(first);
    expect([...shared.byId.values()]).toEqual([slot]);
    const fresh = slotOf(tables);
    expect(fresh).not.toBe(slot);
    // The new slot is in no shared tree: the write after it changes it in place.
    const third = freezeRecord(resource("web"), "3");
    tables.put(third, fresh);
    expect(slotOf(tables)).toBe(fresh);
    expect(fresh.record).toBe(third);
    expect(slot.record).toBe(first);
  });

  it("gives a record of another incarnation a slot of its own", () => {
    const tables = new Tables();
    const first = freezeRecord(resource("web", { uid: "u1" }), "1");
    tables.put(first, undefined);
    const slot = slotOf(tables);
    const other = freezeRecord(resource("web", { uid: "u2" }), "2");
    tables.put(other, slot);
    expect(slot.record).toBe(first);
    expect(slotOf(tables).record).toBe(other);
    expect(slotOf(tables).uid).toBe("u2");
    expect(tables.size).toBe(1);
  });
});
