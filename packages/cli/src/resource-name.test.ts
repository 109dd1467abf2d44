import { describe, expect, it } from "vitest";
import { isUsageError } from "./errors.js";
import { describeId, formatType, parseType, resourceId } from "./resource-name.js";

describe("naming resources", () => {
  it("reads a type as group.groupVersion.kind and writes it back the same way", () => {
    const type = parseType("catalog.v2beta1.Service");
    expect([type.group, type.groupVersion, type.kind]).toEqual(["catalog", "v2beta1", "Service"]);
    expect(formatType(type)).toBe("catalog.v2beta1.Service");
  });

  it("refuses a type without exactly three non-empty parts", () => {
    for (const text of ["demo.Artist", "demo..Artist", "a.b.c.d", ""]) {
      let caught: unknown;
      try {
        parseType(text);
      } catch (error) {
        caught = error;
      }
      expect(isUsageError(caught), text).toBe(true);
    }
  });

  it("places a resource in default/default unless told otherwise", () => {
    const id = resourceId("demo.v1.Artist", "web", {});
    expect(id.tenancy).toMatchObject({ partition: "default", namespace: "default" });
    expect(id.uid).toBe("");
    const placed = resourceId("demo.v1.Artist", "web", { namespace: "music", uid: "01J" });
    expect(placed.tenancy).toMatchObject({ partition: "default", namespace: "music" });
    expect(placed.uid).toBe("01J");
    expect(describeId(placed)).toBe('demo.v1.Artist "web" in default/music');
  });

  it("refuses an empty name", () => {
    expect(() => resourceId("demo.v1.Artist", "", {})).toThrow("expected a resource name");
  });
});
