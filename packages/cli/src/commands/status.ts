import { type Command, Option } from "commander";
import { addConnectionOptions, runClient } from "../client-command.js";
import { type ClusterStatus, gatherClusterStatus, type MemberStatus } from "../cluster-status.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { ExitCode } from "../exit-codes.js";
import { formatBytes } from "../progress.js";
import { renderTable } from "../table.js";

interface StatusFlags extends ConnectionFlags {
  output: "json" | "table";
}

/** How long `status` waits for each member: a stopped or paused node must not stall the report. */
export const MEMBER_STATUS_TIMEOUT_MS = 3000;

const text = (value: number | string | undefined) => (value === undefined ? "-" : String(value));

/** A store this full of its quota is reported: writes that grow it are refused soon. */
export const QUOTA_WARNING_FRACTION = 0.9;

/** How much of its quota a member's store uses, in whole percent. */
const percentUsed = (storeBytes: number, quotaBytes: number) =>
  Math.floor((100 * storeBytes) / quotaBytes);

/** `1.0 GiB`, or `none` for no quota. */
const quotaSize = (quotaBytes: number) => (quotaBytes === 0 ? "none" : formatBytes(quotaBytes));

/** `1.0 GiB (37%)`: the quota and how much of it the store uses; `none` without a quota. */
function quotaText(m: MemberStatus): string {
  if (m.quotaBytes === undefined || m.storeBytes === undefined) return "-";
  if (m.quotaBytes === 0) return quotaSize(0);
  return `${quotaSize(m.quotaBytes)} (${percentUsed(m.storeBytes, m.quotaBytes)}%)`;
}

/** What an operator should hear about the members' store sizes and quotas. */
function quotaProblems(members: readonly MemberStatus[]): string[] {
  const problems: string[] = [];
  for (const m of members) {
    if (m.quotaBytes === undefined || m.storeBytes === undefined || m.quotaBytes === 0) continue;
    if (m.storeBytes >= QUOTA_WARNING_FRACTION * m.quotaBytes) {
      problems.push(
        `${m.id}'s store holds ${formatBytes(m.storeBytes)}, ${percentUsed(m.storeBytes, m.quotaBytes)}% of its quota of ${formatBytes(m.quotaBytes)}: writes that would grow it past the quota are refused (exit code 7). Delete resources, or restart the members with a larger --quota-bytes (and heap: NODE_OPTIONS=--max-old-space-size=…)\n`,
      );
    }
  }
  const quotas = members.filter((m) => m.quotaBytes !== undefined);
  if (new Set(quotas.map((m) => m.quotaBytes)).size > 1) {
    const each = quotas.map((m) => `${m.id} ${quotaSize(m.quotaBytes ?? 0)}`).join(", ");
    problems.push(
      `the members have different quotas (${each}): each checks the writes it proposes against its own, and any of them may lead; give every member the same --quota-bytes\n`,
    );
  }
  return problems;
}

export function renderClusterStatus(status: ClusterStatus): string {
  const leaderLine =
    status.leader === null
      ? `leader: none known${status.term === null ? "" : ` (highest term ${status.term})`}`
      : `leader: ${status.leader} (term ${status.term})`;
  // The cluster most members belong to (the leader's, when there is one).
  const clusters = status.members.flatMap((m) => (m.clusterId ? [m.clusterId] : []));
  const leaderCluster = status.members.find((m) => m.id === status.leader)?.clusterId;
  const cluster = leaderCluster || mostCommon(clusters);
  const head = `${leaderLine}${cluster === undefined ? "" : `\ncluster: ${cluster}`}\n\n`;
  const table = renderTable(
    [
      "MEMBER",
      "URL",
      "STATE",
      "TERM",
      "COMMIT",
      "APPLIED",
      "LAST",
      "MATCH",
      "LAG",
      "RESOURCES",
      "STORE",
      "QUOTA",
    ],
    status.members.map((m) => [
      m.id,
      m.url,
      m.reachable ? text(m.state) : "unreachable",
      text(m.term),
      text(m.commitIndex),
      text(m.appliedIndex),
      text(m.lastIndex),
      text(m.matchIndex),
      m.lag === undefined ? "-" : m.active === false ? `${m.lag} (inactive)` : String(m.lag),
      text(m.resources),
      m.storeBytes === undefined ? "-" : formatBytes(m.storeBytes),
      quotaText(m),
    ]),
  );
  const problems = status.members
    .flatMap((m) => {
      if (!m.reachable) return [`${m.id} is unreachable: ${m.error ?? "no answer"}\n`];
      if (cluster !== undefined && m.clusterId && m.clusterId !== cluster) {
        return [
          `${m.id} belongs to another cluster (${m.clusterId}), and the others refuse it: it runs on another cluster's data directory, or was started with another --initial-cluster or --initial-cluster-token\n`,
        ];
      }
      return [];
    })
    .concat(quotaProblems(status.members.filter((m) => m.reachable)))
    .join("");
  return `${head}${table}${problems === "" ? "" : `\n${problems}`}`;
}

function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = v;
  return best;
}

/** `raftstore status`: every member's role, term, indexes and lag. */
export function registerStatus(program: Command, context: CommandContext): void {
  const command = program
    .command("status")
    .summary("Show the leader and every member's state and lag")
    .description(
      "Show the cluster: the leader, and each member's state, term, commit and applied index and lag (asks every member; marks the ones that do not answer)",
    )
    .addOption(
      new Option("-o, --output <format>", "table or json")
        .choices(["table", "json"])
        .default("table"),
    );
  addConnectionOptions(command);
  command.addHelpText(
    "after",
    `${examples("raftstore status", "raftstore status -o json | jq .leader")}
LAG is the leader's view: how many log entries a member is behind the leader's last entry.
STORE is the member's store as its quota counts it (each resource's content plus 700 bytes);
QUOTA is its --quota-bytes and how much of it the store uses. A store at ${QUOTA_WARNING_FRACTION * 100}% of its quota, and
members with different quotas, are reported below the table.
Exit code 0 when a leader is known, 5 when none is (or the endpoint cannot be reached).
Each member gets ${MEMBER_STATUS_TIMEOUT_MS / 1000}s (or --timeout, if shorter) to answer.
`,
  );
  command.action(async (flags: StatusFlags) => {
    await runClient(context, flags, async ({ connections, call }) => {
      const { members } = await connections.operator().listMembers({}, call);
      const status = await gatherClusterStatus({
        members,
        operator: (url) => connections.operator(url),
        timeoutMs: Math.min(MEMBER_STATUS_TIMEOUT_MS, call.timeoutMs),
        signal: call.signal,
      });
      if (flags.output === "json") printJson(context.io, status);
      else context.io.stdout.write(renderClusterStatus(status));
      if (status.leader === null) {
        context.io.stderr.write(
          `${context.command}: no member leads right now: the cluster cannot serve writes or strong reads. Retry in a moment; if it lasts, more than half of the members are down or cut off.\n`,
        );
        context.exitCode = ExitCode.Unavailable;
      }
    });
  });
}
