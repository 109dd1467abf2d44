import type { KvInput, KvOutput } from "../kv-model.js";
import type { Operation } from "../operation.js";

// Short builders for hand-written key-value histories in tests:
// `op(1, put("x", "1"), ok, 0, 2)` is client 1 putting x=1 during [0, 2].

export type KvOperation = Operation<KvInput, KvOutput>;

export const put = (key: string, value: string): KvInput => ({ op: "put", key, value });
export const get = (key: string): KvInput => ({ op: "get", key });
export const cas = (key: string, expected: string | undefined, value: string): KvInput => ({
  op: "cas",
  key,
  expected,
  value,
});
export const del = (key: string): KvInput => ({ op: "delete", key });

export const ok: KvOutput = { ok: true };
export const failed: KvOutput = { ok: false };
export const swapped: KvOutput = { ok: true };
export const notSwapped: KvOutput = { ok: false };
/** A get that returned `value` (undefined = absent). */
export const got = (value: string | undefined): KvOutput =>
  value === undefined ? { ok: true } : { ok: true, value };

/** A completed operation. */
export function op(
  clientId: number,
  input: KvInput,
  output: KvOutput,
  call: number,
  returned: number,
): KvOperation {
  return { clientId, input, output, call, return: returned };
}

/** An operation whose outcome is unknown (no output); it never returned unless `returned` is given. */
export function unknownOp(
  clientId: number,
  input: KvInput,
  call: number,
  returned = Number.POSITIVE_INFINITY,
): KvOperation {
  return { clientId, input, call, return: returned };
}
