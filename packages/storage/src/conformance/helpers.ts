import { createRegistry, equals, type JsonValue, toJson } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { type ID, type Resource, ResourceSchema, type WatchEvent } from "@raftstore/proto";
import { expect } from "vitest";
import type { Watch } from "../backend.js";

/** Timing knobs shared by the suite's helpers. */
export interface Timing {
  eventuallyTimeoutMs: number;
  eventuallyIntervalMs: number;
  nextTimeoutMs: number;
}

const registry = createRegistry(StringValueSchema);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `check` until it stops throwing, and fails with its last error after the timeout. Used
 * for eventual reads, which may lag behind a write on a replicated backend.
 */
export async function eventually<T>(timing: Timing, check: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + timing.eventuallyTimeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(timing.eventuallyIntervalMs);
    }
  }
}

/** The next event of a watch, failing the test if none arrives within the timeout. */
export async function nextEvent(timing: Timing, watch: Watch): Promise<WatchEvent> {
  return watch.next({ signal: AbortSignal.timeout(timing.nextTimeoutMs) });
}

/** A resource as JSON, optionally without its version, for comparisons with readable diffs. */
export function comparable(res: Resource | undefined, ignoreVersion: boolean): JsonValue {
  if (res === undefined) return null;
  const json = toJson(ResourceSchema, res, { registry }) as Record<string, JsonValue>;
  if (ignoreVersion) delete json.version;
  return json;
}

function sortedComparable(list: Resource[], ignoreVersion: boolean): string[] {
  return list.map((r) => JSON.stringify(comparable(r, ignoreVersion))).sort();
}

/** Protobuf equality, ignoring only `version`. */
export function equalIgnoringVersion(a: Resource, b: Resource): boolean {
  return equals(ResourceSchema, { ...a, version: "" }, { ...b, version: "" }, { registry });
}

/** Asserts `actual` equals `expected`, optionally ignoring the version. */
export function expectResource(actual: Resource, expected: Resource, ignoreVersion = false) {
  expect(comparable(actual, ignoreVersion)).toEqual(comparable(expected, ignoreVersion));
}

/** Asserts two lists hold the same resources as unordered multisets. */
export function expectElementsMatch(
  actual: Resource[],
  expected: Resource[],
  ignoreVersion = false,
) {
  expect(sortedComparable(actual, ignoreVersion)).toEqual(
    sortedComparable(expected, ignoreVersion),
  );
}

/** Asserts a value and everything reachable from it is frozen (typed arrays excepted). */
export function expectDeepFrozen(value: unknown, path = "resource"): void {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return;
  expect(Object.isFrozen(value), `${path} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeepFrozen(child, `${path}.${key}`);
}

/** The kind of a watch event, for assertions. */
export function eventKind(event: WatchEvent): "upsert" | "delete" | "endOfSnapshot" | undefined {
  return event.event.case;
}

/** The resource an upsert or delete event carries. */
export function eventResource(event: WatchEvent): Resource {
  const e = event.event;
  if (e.case === "upsert" || e.case === "delete") {
    if (e.value.resource === undefined) throw new Error(`${e.case} event without a resource`);
    return e.value.resource;
  }
  throw new Error(`expected an upsert or delete event, got ${String(e.case)}`);
}

/** Waits for the watch's next event and asserts that it is an upsert of `expected`. */
export async function expectNextUpsert(
  timing: Timing,
  watch: Watch,
  expected: Resource,
): Promise<void> {
  const event = await nextEvent(timing, watch);
  expect(eventKind(event)).toBe("upsert");
  expectResource(eventResource(event), expected);
}

/** The id of a resource returned by a backend, which always has one. */
export function idOf(res: Resource): ID {
  if (res.id === undefined) throw new Error("resource without an id");
  return res.id;
}
