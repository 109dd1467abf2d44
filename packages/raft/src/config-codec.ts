import type { ClusterConfig } from "./log-types.js";

// The encoding of a Config entry's data. It must be deterministic: at bootstrap every member
// writes the initial configuration entry independently, and the entries must be identical
// byte for byte (same checksum) for the logs to match. Hence sorted members and a fixed field
// order.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes a configuration as the data of a Config entry (canonical: members sorted). */
export function encodeConfig(config: ClusterConfig): Uint8Array {
  const voters = [...config.voters].sort();
  const learners = [...config.learners].sort();
  return encoder.encode(JSON.stringify({ voters, learners }));
}

/** Decodes the data of a Config entry. Throws a clear error on anything else. */
export function decodeConfig(data: Uint8Array): ClusterConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new Error("expected a configuration entry (JSON), found undecodable bytes", { cause });
  }
  const value = parsed as { voters?: unknown; learners?: unknown } | null;
  const isIds = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((id) => typeof id === "string" && id.length > 0);
  if (value === null || !isIds(value.voters) || !isIds(value.learners)) {
    throw new Error(`expected a configuration {voters, learners}, found ${JSON.stringify(parsed)}`);
  }
  return { voters: value.voters, learners: value.learners };
}

/** Whether two configurations have the same members. */
export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  const key = (c: ClusterConfig) => JSON.stringify([[...c.voters].sort(), [...c.learners].sort()]);
  return key(a) === key(b);
}
