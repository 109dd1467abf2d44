import type { SnapshotInfo } from "@raftstore/snapshot";
import { formatBytes } from "./progress.js";
import { renderTable } from "./table.js";

/** What `snapshot inspect --json` prints (also after `snapshot save --json`). */
export interface SnapshotReport {
  file: string;
  formatVersion: number;
  /** The Raft index of the last entry the snapshot includes. */
  index: number;
  term: number;
  /** ISO 8601. */
  createdAt: string;
  /** Resources in the snapshot. */
  count: number;
  bytes: number;
  largestResourceBytes: number;
  /** Resources per group.groupVersion.kind. */
  resourcesByType: Record<string, number>;
  /** For a snapshot file of a node's data directory: what the engine recorded with it. */
  node?: { index: number; term: number; voters: string[]; learners: string[] };
}

/** The Raft metadata a node's snapshot file carries. */
interface NodeSnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: { readonly voters: readonly string[]; readonly learners: readonly string[] };
}

export function snapshotReport(
  file: string,
  info: SnapshotInfo,
  node?: NodeSnapshotMeta,
): SnapshotReport {
  return {
    file,
    formatVersion: info.formatVersion,
    index: Number(info.index),
    term: Number(info.term),
    createdAt: info.createdAt.toISOString(),
    count: info.count,
    bytes: info.bytes,
    largestResourceBytes: info.largestResourceBytes,
    resourcesByType: info.resourcesByType,
    ...(node === undefined
      ? {}
      : {
          node: {
            index: node.index,
            term: node.term,
            voters: [...node.config.voters],
            learners: [...node.config.learners],
          },
        }),
  };
}

/** The human form: the header, the census, then resources per type. */
export function renderSnapshotReport(report: SnapshotReport): string {
  const lines = [
    `file       ${report.file}`,
    `format     version ${report.formatVersion}`,
    `index      ${report.index}`,
    `term       ${report.term}`,
    `created    ${report.createdAt}`,
    `resources  ${report.count}`,
    `size       ${formatBytes(report.bytes)} (${report.bytes} bytes; largest resource ${report.largestResourceBytes} bytes)`,
    "checksums  verified",
  ];
  const node = report.node;
  if (node !== undefined) {
    const learners = node.learners.length === 0 ? "" : `; learners ${node.learners.join(", ")}`;
    lines.splice(
      1,
      0,
      `node       a node's snapshot file: Raft index ${node.index}, term ${node.term}, voters ${node.voters.join(", ")}${learners}`,
    );
  }
  const types = Object.entries(report.resourcesByType);
  const table =
    types.length === 0
      ? ""
      : `\n${renderTable(
          ["TYPE", "RESOURCES"],
          types.map(([type, count]) => [type, String(count)]),
        )}`;
  return `${lines.join("\n")}\n${table}`;
}
