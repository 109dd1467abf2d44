import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { OperatorService, StatusResponse } from "@raftstore/proto/operator/v1";

/** One member as `raftstore status` reports it. Indexes are numbers (they fit in 2^53). */
export interface MemberStatus {
  id: string;
  url: string;
  /** Whether the member answered its Status call. */
  reachable: boolean;
  /** Why it did not answer. */
  error?: string;
  state?: string;
  term?: number;
  /** The leader this member knows of, "" for none. */
  leader?: string;
  commitIndex?: number;
  appliedIndex?: number;
  lastIndex?: number;
  snapshotIndex?: number;
  resources?: number;
  watches?: number;
  /** The size of its store, as its quota counts it. */
  storeBytes?: number;
  /** Its store's quota; 0 for none. */
  quotaBytes?: number;
  /** The cluster its data directory belongs to. */
  clusterId?: string;
  /** From the leader: the highest index known replicated to this member. */
  matchIndex?: number;
  /** From the leader: how many entries this member is behind the leader's last index. */
  lag?: number;
  /** From the leader: whether it heard from this member recently. */
  active?: boolean;
}

/** The cluster as `raftstore status` reports it. */
export interface ClusterStatus {
  /** The leader's id, or null when no reachable member leads. */
  leader: string | null;
  /** The leader's term, or the highest term any member reported. */
  term: number | null;
  members: MemberStatus[];
}

/** The members to ask, and how to ask one of them. */
export interface StatusSources {
  members: ReadonlyArray<{ id: string; url: string }>;
  operator(url: string): Client<typeof OperatorService>;
  /** Per member: a member that does not answer in time counts as unreachable. */
  timeoutMs: number;
  signal?: AbortSignal;
}

function fromResponse(id: string, url: string, s: StatusResponse): MemberStatus {
  return {
    id,
    url,
    reachable: true,
    state: s.state,
    term: Number(s.term),
    leader: s.leader,
    commitIndex: Number(s.commitIndex),
    appliedIndex: Number(s.appliedIndex),
    lastIndex: Number(s.lastIndex),
    snapshotIndex: Number(s.snapshotIndex),
    resources: Number(s.resources),
    watches: Number(s.watches),
    storeBytes: s.storeBytes === undefined ? undefined : Number(s.storeBytes),
    quotaBytes: s.quotaBytes === undefined ? undefined : Number(s.quotaBytes),
    clusterId: s.clusterId,
  };
}

/**
 * Asks every member for its Status, in parallel, and puts the leader's view of replication
 * (match index, lag, recent contact) next to each follower. A member that fails or times out is
 * reported unreachable with the reason; it never fails the whole report.
 */
export async function gatherClusterStatus(sources: StatusSources): Promise<ClusterStatus> {
  const responses = await Promise.all(
    sources.members.map(async ({ id, url }) => {
      try {
        const response = await sources
          .operator(url)
          .status({}, { timeoutMs: sources.timeoutMs, signal: sources.signal });
        return { id, url, response };
      } catch (error) {
        if (sources.signal?.aborted) throw error;
        return { id, url, error: ConnectError.from(error).rawMessage };
      }
    }),
  );
  const members: MemberStatus[] = responses.map((r) =>
    r.response === undefined
      ? { id: r.id, url: r.url, reachable: false, error: r.error }
      : fromResponse(r.id, r.url, r.response),
  );
  // Two members may both say "leader" across a partition; the higher term is the real one.
  let leader: { id: string; response: StatusResponse } | undefined;
  for (const r of responses) {
    if (r.response?.state !== "leader") continue;
    if (leader === undefined || r.response.term > leader.response.term) {
      leader = { id: r.id, response: r.response };
    }
  }
  if (leader !== undefined) {
    for (const member of members) {
      if (member.id === leader.id) {
        member.matchIndex = Number(leader.response.lastIndex);
        member.lag = 0;
        member.active = true;
        continue;
      }
      const peer = leader.response.peers.find((p) => p.id === member.id);
      if (peer === undefined) continue;
      member.matchIndex = Number(peer.matchIndex);
      member.lag = Number(peer.lag);
      member.active = peer.active;
    }
  }
  const terms = members.flatMap((m) => (m.term === undefined ? [] : [m.term]));
  return {
    leader: leader?.id ?? null,
    term:
      leader !== undefined
        ? Number(leader.response.term)
        : terms.length > 0
          ? Math.max(...terms)
          : null,
    members,
  };
}
