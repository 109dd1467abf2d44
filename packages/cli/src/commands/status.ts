import { type Command, Option } from "commander";
import { addConnectionOptions, runClient } from "../client-command.js";
import { type ClusterStatus, gatherClusterStatus } from "../cluster-status.js";
import { type CommandContext, examples, printJson } from "../command-context.js";
import type { ConnectionFlags } from "../connections.js";
import { ExitCode } from "../exit-codes.js";
import { renderTable } from "../table.js";

interface StatusFlags extends ConnectionFlags {
  output: "json" | "table";
}

/** How long `status` waits for each member: a stopped or paused node must not stall the report. */
export const MEMBER_STATUS_TIMEOUT_MS = 3000;

const text = (value: number | string | undefined) => (value === undefined ? "-" : String(value));

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
    ["MEMBER", "URL", "STATE", "TERM", "COMMIT", "APPLIED", "LAST", "MATCH", "LAG", "RESOURCES"],
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
