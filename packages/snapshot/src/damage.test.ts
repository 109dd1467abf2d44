import { equals, toBinary } from "@bufbuild/protobuf";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeSnapshot } from "./encode.js";
import { isSnapshotFormatError, type SnapshotDamage, SnapshotFormatError } from "./errors.js";
import { craftSnapshot } from "./test-support/craft.js";
import {
  arbitraryResource,
  chunked,
  collect,
  concat,
  type DecodeOutcome,
  decodeOutcome,
  sampleResource,
  sampleResources,
} from "./test-support/resources.js";

const header = { index: 77n, term: 5n, createdAt: new Date(1_650_000_000_000) };
const resources = [...sampleResources(3)];
const payloads = resources.map((r) => toBinary(ResourceSchema, r));
const snapshot = concat(await collect(encodeSnapshot(header, resources)));
// Where each frame starts: after the 40-byte header, each frame is 8 bytes plus its payload.
const frameStarts: number[] = [];
for (
  let at = 40, i = 0;
  i < payloads.length;
  at += 8 + (payloads[i] as Uint8Array).byteLength, i++
) {
  frameStarts.push(at);
}
const trailerStart = snapshot.byteLength - 16;

/** Asserts the decode was refused as damaged, and returns the error. */
function refused(outcome: DecodeOutcome): SnapshotFormatError {
  expect(outcome.completed).toBe(false);
  if (!isSnapshotFormatError(outcome.error)) throw outcome.error;
  return outcome.error;
}

async function damageOf(bytes: Uint8Array, cuts?: number[], maxFrameBytes?: number) {
  return refused(await decodeOutcome(chunked(bytes, cuts), { maxFrameBytes }));
}

function expectDamage(error: SnapshotFormatError, reason: SnapshotDamage, offset: number) {
  expect({ reason: error.reason, offset: error.offset }).toEqual({ reason, offset });
  expect(error).toBeInstanceOf(SnapshotFormatError);
  expect(error.message).toMatch(
    new RegExp(`^snapshot damaged at byte ${offset} \\(${reason}\\): expected `),
  );
}

function flipped(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] as number) ^ mask;
  return copy;
}

describe("a damaged snapshot is refused with SnapshotFormatError", () => {
  it("when it is not a snapshot at all", async () => {
    const error = await damageOf(new TextEncoder().encode('{"resources": []}'));
    expectDamage(error, "bad-magic", 0);
    expect(error.message).toMatch(
      /expected the snapshot signature 89 52 53 4e 41 50 0d 0a, found 7b 22/,
    );
    expectDamage(await damageOf(Uint8Array.of(0x89, 0x52, 0x00)), "bad-magic", 2);
  });

  it("when it is empty, or shorter than a header", async () => {
    expectDamage(await damageOf(new Uint8Array(0)), "truncated", 0);
    const error = await damageOf(snapshot.subarray(0, 20));
    expectDamage(error, "truncated", 20);
    expect(error.message).toContain("expected a 40-byte header, but the input ended here");
  });

  it("when it was written in another format version", async () => {
    const error = await damageOf(craftSnapshot({ formatVersion: 2 }));
    expectDamage(error, "unsupported-version", 8);
    expect(error.message).toContain(
      "expected format version 1, found 2: written by a newer raftstore",
    );
  });

  it("when its header does not match the header's checksum", async () => {
    const error = await damageOf(flipped(snapshot, 14));
    expectDamage(error, "header-checksum", 36);
    expect(error.message).toMatch(
      /expected the header checksum 0x[0-9a-f]{8} of bytes 0-35, found 0x[0-9a-f]{8}/,
    );
  });

  it("when its header holds a time no Date can", async () => {
    expectDamage(await damageOf(craftSnapshot({ createdAtMs: 1n << 62n })), "invalid-header", 28);
  });

  it("when it ends inside a frame, naming the frame and where the input ended", async () => {
    const cut = (frameStarts[1] as number) + 10;
    const outcome = await decodeOutcome(chunked(snapshot.subarray(0, cut)));
    const error = refused(outcome);
    expectDamage(error, "truncated", cut);
    expect(error.message).toContain(
      `expected frame #1 of ${(payloads[1] as Uint8Array).byteLength + 8} bytes at byte ${frameStarts[1]}`,
    );
    expect(outcome.resources).toHaveLength(1);
  });

  it("when it ends before its trailer", async () => {
    const error = await damageOf(snapshot.subarray(0, trailerStart));
    expectDamage(error, "truncated", trailerStart);
    expect(error.message).toContain(`expected frame #3 or the trailer at byte ${trailerStart}`);
    expectDamage(
      await damageOf(snapshot.subarray(0, trailerStart + 6)),
      "truncated",
      trailerStart + 6,
    );
  });

  it("when a frame is larger than the reader accepts", async () => {
    const error = await damageOf(snapshot, [], 100);
    expectDamage(error, "frame-too-large", 40);
  });

  it("when a frame does not match its checksum", async () => {
    const at = (frameStarts[2] as number) + 20;
    const outcome = await decodeOutcome(chunked(flipped(snapshot, at)));
    expectDamage(refused(outcome), "frame-checksum", frameStarts[2] as number);
    expect(outcome.resources).toEqual(resources.slice(0, 2));
  });

  it("when a frame with a correct checksum holds no Resource", async () => {
    const notAResource = Uint8Array.of(0x0a, 0x05, 0x01); // field 1, 5 bytes announced, 1 there
    const error = await damageOf(
      craftSnapshot({ payloads: [payloads[0] as Uint8Array, notAResource] }),
    );
    expectDamage(error, "invalid-resource", frameStarts[1] as number);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("when its trailer counts other than the frames read", async () => {
    const error = await damageOf(craftSnapshot({ payloads, count: 4n }));
    expectDamage(error, "count-mismatch", trailerStart + 4);
    expect(error.message).toContain("expected the trailer to count the 3 frames read, found 4");
  });

  it("when anything before the trailer's checksum does not match it", async () => {
    expectDamage(
      await damageOf(flipped(snapshot, trailerStart + 8)),
      "snapshot-checksum",
      trailerStart + 12,
    );
    expectDamage(
      await damageOf(flipped(snapshot, snapshot.byteLength - 1)),
      "snapshot-checksum",
      trailerStart + 12,
    );
  });

  it("when bytes follow the trailer, in the same chunk or a later one", async () => {
    const longer = concat([snapshot, Uint8Array.of(0)]);
    expectDamage(await damageOf(longer), "trailing-bytes", snapshot.byteLength);
    expectDamage(
      await damageOf(longer, [snapshot.byteLength]),
      "trailing-bytes",
      snapshot.byteLength,
    );
    expectDamage(
      await damageOf(concat([snapshot, snapshot])),
      "trailing-bytes",
      snapshot.byteLength,
    );
  });

  it("when its tail was zero-filled (a crash before the data reached the disk)", async () => {
    const cut = frameStarts[1] as number;
    const zeroed = concat([snapshot.subarray(0, cut), new Uint8Array(4096)]);
    const outcome = await decodeOutcome(chunked(zeroed));
    expectDamage(refused(outcome), "frame-checksum", cut);
    expect(outcome.resources).toEqual(resources.slice(0, 1));
  });

  it("at every truncation, exhaustively", async () => {
    for (let length = 0; length < snapshot.byteLength; length++) {
      const outcome = await decodeOutcome(chunked(snapshot.subarray(0, length), [length >> 1]));
      const error = refused(outcome);
      expect({ length, reason: error.reason, offset: error.offset }).toEqual({
        length,
        reason: "truncated",
        offset: length,
      });
    }
  }, 30_000);

  it("for every flip of every bit of every byte, and of whole bytes, exhaustively", async () => {
    const reasons = new Set<SnapshotDamage>();
    const masks = [1, 2, 4, 8, 16, 32, 64, 128, 255];
    for (let at = 0; at < snapshot.byteLength; at++) {
      for (const mask of masks) {
        const outcome = await decodeOutcome(chunked(flipped(snapshot, at, mask), [at]));
        const error = refused(outcome);
        expect(error.offset).toBeGreaterThanOrEqual(0);
        expect(error.offset).toBeLessThanOrEqual(snapshot.byteLength);
        // What came out before the damage was found is exactly what was written.
        outcome.resources.forEach((resource, i) => {
          expect(equals(ResourceSchema, resource, resources[i] as Resource)).toBe(true);
        });
        reasons.add(error.reason);
      }
    }
    expect([...reasons].sort()).toEqual([
      "bad-magic",
      "frame-checksum",
      "frame-too-large",
      "header-checksum",
      "snapshot-checksum",
      "truncated",
      "unsupported-version",
    ]);
  }, 60_000);

  it("for any byte replaced by any other value, however the input is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryResource, { maxLength: 5 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }),
        async (someResources, position, mask, cuts) => {
          const bytes = concat(await collect(encodeSnapshot(header, someResources)));
          refused(
            await decodeOutcome(chunked(flipped(bytes, position % bytes.byteLength, mask), cuts)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("for random garbage, alone or after a valid header", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.boolean(),
        fc.array(fc.nat({ max: 700 }), { maxLength: 8 }),
        async (garbage, afterHeader, cuts) => {
          const bytes = afterHeader ? concat([snapshot.subarray(0, 40), garbage]) : garbage;
          refused(await decodeOutcome(chunked(bytes, cuts)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("for spliced input: a range cut out, garbage put in, or a range repeated", async () => {
    const edit = fc.record({
      from: fc.nat({ max: snapshot.byteLength - 1 }),
      length: fc.integer({ min: 1, max: 600 }),
      kind: fc.constantFrom("delete", "insert", "repeat"),
      garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    });
    await fc.assert(
      fc.asyncProperty(edit, fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }), async (e, cuts) => {
        const to = Math.min(snapshot.byteLength, e.from + e.length);
        const before = snapshot.subarray(0, e.from);
        const after = snapshot.subarray(e.kind === "delete" ? to : e.from);
        const middle =
          e.kind === "insert"
            ? e.garbage
            : e.kind === "repeat"
              ? snapshot.subarray(e.from, to)
              : new Uint8Array(0);
        refused(await decodeOutcome(chunked(concat([before, middle, after]), cuts)));
      }),
      { numRuns: 300 },
    );
  });

  it("for a valid frame of another snapshot put in place of one of its own", async () => {
    const otherPayload = toBinary(ResourceSchema, sampleResource(10));
    const other = concat(await collect(encodeSnapshot(header, [sampleResource(10)])));
    const otherFrame = other.subarray(40, 48 + otherPayload.byteLength);
    const swapped = concat([
      snapshot.subarray(0, frameStarts[1]),
      otherFrame,
      snapshot.subarray(frameStarts[2]),
    ]);
    // Every frame and the count are right; only the checksum over everything notices.
    const outcome = await decodeOutcome(chunked(swapped));
    expectDamage(refused(outcome), "snapshot-checksum", swapped.byteLength - 4);
    expect(outcome.resources).toHaveLength(3);
  });
});
