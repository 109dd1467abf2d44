import type { Resource, Tenancy, WatchEvent } from "@raftstore/proto";
import type { UnversionedType } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { upsertEvent } from "./events.js";
import { freezeRecord } from "./record.js";
import { type Subscription, Subscriptions } from "./subscriptions.js";
import { artist, resource, tenancy } from "./test-support/resources.js";

/** A subscription that records what it receives and how often its query was looked at. */
function probe(type: UnversionedType, where: Tenancy, namePrefix = "") {
  const received: WatchEvent[] = [];
  let examined = 0;
  const subscription: Subscription = {
    type,
    tenancy: where,
    get namePrefix() {
      examined++;
      return namePrefix;
    },
    deliver: (event) => void received.push(event),
    end: () => {},
  };
  return { subscription, received, examined: () => examined };
}

const web: Resource = freezeRecord(resource("web"), "1");

describe("Subscriptions", () => {
  it("does not even look at subscriptions of other types or other exact tenancies", () => {
    const subscriptions = new Subscriptions();
    const others = [
      ...Array.from({ length: 50 }, (_, i) =>
        probe({ group: "demo", kind: `Other${i}` }, tenancy("*", "*")),
      ),
      ...Array.from({ length: 50 }, (_, i) => probe(artist, tenancy("default", `ns-${i}`))),
    ];
    for (const o of others) subscriptions.add(o.subscription);
    const match = probe(artist, tenancy("default", "default"), "w");
    subscriptions.add(match.subscription);

    subscriptions.publish(web, upsertEvent);
    expect(others.map((o) => o.examined())).toEqual(others.map(() => 0));
    expect(match.received).toHaveLength(1);
    expect(match.examined()).toBe(1);
  });

  it("builds one event per change and shares it between every matching subscription", () => {
    const subscriptions = new Subscriptions();
    const a = probe(artist, tenancy("*", "default"));
    const b = probe(artist, tenancy("default", "default"));
    const c = probe(artist, tenancy("default", "default"), "x");
    for (const p of [a, b, c]) subscriptions.add(p.subscription);
    let built = 0;
    subscriptions.publish(web, (record) => {
      built++;
      return upsertEvent(record);
    });
    expect(built).toBe(1);
    expect(a.received[0]).toBe(b.received[0]);
    expect(c.received).toEqual([]);
  });

  it("builds no event when no subscription matches", () => {
    const subscriptions = new Subscriptions();
    subscriptions.add(probe(artist, tenancy("default", "default"), "x").subscription);
    subscriptions.publish(web, () => {
      throw new Error("no event should be built");
    });
  });

  it("forgets a subscription when its unregister function runs, once", () => {
    const subscriptions = new Subscriptions();
    const a = probe(artist, tenancy("default", "default"));
    const b = probe(artist, tenancy("*", "*"));
    const unregisterA = subscriptions.add(a.subscription);
    const unregisterB = subscriptions.add(b.subscription);
    expect(subscriptions.size).toBe(2);
    unregisterA();
    unregisterA();
    expect(subscriptions.size).toBe(1);
    subscriptions.publish(web, upsertEvent);
    expect(a.received).toEqual([]);
    expect(b.received).toHaveLength(1);
    unregisterB();
    expect(subscriptions.size).toBe(0);
  });

  it("ends every subscription with a fresh error from endAll", () => {
    const subscriptions = new Subscriptions();
    const errors: Error[] = [];
    for (const where of [tenancy("*", "*"), tenancy("a", "b"), tenancy("a", "c")]) {
      subscriptions.add({ ...probe(artist, where).subscription, end: (e) => void errors.push(e) });
    }
    subscriptions.endAll(() => new Error("gone"));
    expect(errors.map((e) => e.message)).toEqual(["gone", "gone", "gone"]);
    expect(new Set(errors).size).toBe(3);
  });
});
