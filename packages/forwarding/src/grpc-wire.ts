import type * as http2 from "node:http2";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { toBinaryFast } from "@raftstore/storage";

/** Node's incoming HTTP/2 headers (or trailers) as a fetch Headers, without pseudo-headers. */
export function toHeaders(raw: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const key in raw) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.append(key, value);
  }
  return headers;
}

/**
 * The longest deadline gRPC's `grpc-timeout` header carries in milliseconds: its value has at
 * most 8 digits, and servers refuse a longer one.
 */
export const maxDeadlineMs = 99_999_999;

/** Where a frame goes: Node's shared pool by default, for frames that are sent and dropped. */
export type AllocateFrame = (size: number) => Buffer;

/** One gRPC length-prefixed message frame, uncompressed, around `payload`. */
export function encodeFrame(
  payload: Uint8Array,
  allocate: AllocateFrame = Buffer.allocUnsafe,
): Buffer {
  const frame = allocate(5 + payload.byteLength);
  frame.set(payload, 5);
  return withFrameHeader(frame);
}

/** Writes the header of `frame` (uncompressed, the length of what follows it) and returns it. */
function withFrameHeader(frame: Buffer): Buffer {
  frame[0] = 0;
  frame.writeUInt32BE(frame.byteLength - 5, 1);
  return frame;
}

/**
 * One gRPC message frame of `message`, encoded straight into the frame: a resource message is
 * written once, with no array of its own to copy from. Any other message is encoded by
 * protobuf-es and then framed. The frame is in pooled memory (`Buffer.allocUnsafe`) unless
 * `allocate` says otherwise: a frame that is kept (a cached watch event) should have memory of
 * its own (`Buffer.allocUnsafeSlow`), or it keeps the pool's whole 8 KiB slab alive.
 */
export function encodeMessageFrame<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  allocate: AllocateFrame = Buffer.allocUnsafe,
): Buffer {
  let framed: Buffer | undefined;
  const payload = toBinaryFast(schema, message, (size) => {
    framed = allocate(5 + size);
    return framed.subarray(5);
  });
  // Assigned in the callback, which TypeScript does not follow.
  const frame = framed as Buffer | undefined;
  return frame === undefined ? encodeFrame(payload, allocate) : withFrameHeader(frame);
}

/**
 * The message of one whole frame, as a plain Uint8Array over the same memory. The bytes fields
 * decoded from it are then Uint8Arrays, as connect gives them, and not Buffers, whose `slice()`
 * is a view where a Uint8Array's is a copy.
 */
export function framePayload(frame: Buffer): Uint8Array {
  return new Uint8Array(frame.buffer, frame.byteOffset + 5, frame.byteLength - 5);
}
