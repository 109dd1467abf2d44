import type { NodeId } from "../log-types.js";

// Majority quorum arithmetic over one set of voters. Joint consensus (two sets at once, for
// membership changes) will combine two of these: commit at the lower of the two indexes, win
// an election only with a majority of each.

/**
 * The highest index that a majority of `voters` have reached, given each voter's acknowledged
 * index (0 for a voter not in `acked`).
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(acked).sort((a, b) => b - a);
  // With n voters, the value at position floor(n / 2) (descending) is held by n/2+1 of them.
  return indexes[Math.floor(voters.length / 2)] as number;
}

export type VoteOutcome = "won" | "lost" | "pending";

/** The outcome of an election given the answers received so far (true = granted). */
export function voteOutcome(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const majority = Math.floor(voters.length / 2) + 1;
  if (granted >= majority) return "won";
  if (rejected > voters.length - majority) return "lost";
  return "pending";
}

/** Whether the nodes in `active` include a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (active(id)) count++;
  return count >= Math.floor(voters.length / 2) + 1;
}
