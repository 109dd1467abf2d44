import type { Transport } from "@connectrpc/connect";
import { createForwardingTransport, type ForwardingTransport } from "@raftstore/forwarding";
import type { RaftNode } from "@raftstore/raft";
import { type Handle, NoLeaderError } from "@raftstore/raft-backend";
import { type CallOptions, InconsistentError, InvalidArgumentError } from "@raftstore/storage";

/** Options of the Handle a node gives its storage Backend. */
export interface RaftHandleOptions {
  /** The base URL (http://host:port or https://…) of a member, or undefined if unknown. */
  urlOf(id: string): string | undefined;
  /**
   * Whether the engine was created with `forwardProposals`: a follower's apply then works, and
   * with its readIndex (which works on any node) the follower serves writes and strong reads.
   */
  forwardProposals?: boolean;
  /** Node options for the HTTP/2 sessions to the leader (TLS material). */
  http2Options?: Parameters<typeof createForwardingTransport>[0]["nodeOptions"];
}

/** The Backend's Handle, with what the node needs to keep it in step with the engine. */
export interface RaftHandle extends Required<Handle> {
  /** Closes the connection to a leader that is no longer the leader. */
  leaderChanged(): void;
  close(): void;
}

/**
 * Maps an engine failure to the storage contract: everything that means "this node cannot
 * commit or confirm right now" (not leader, leadership lost, timeout, shutdown, backpressure)
 * is an InconsistentError, which the API reports as Unavailable and clients retry. Those that
 * did nothing for want of a leader are NoLeaderErrors, which the Backend holds until there is
 * one: NotLeaderError (never appended), a proposal dropped for a leadership transfer, an entry
 * a newer leader certainly did not commit (NotCommittedError), and, for a read (`read`), a
 * leader lost before it confirmed the read. An aborted call keeps its abort reason; a proposal
 * too large is the caller's fault.
 */
function translate(error: unknown, options?: CallOptions, read = false): unknown {
  if (options?.signal?.aborted && error === options.signal.reason) return error;
  if (!(error instanceof Error)) return error;
  const noLeader =
    error.name === "NotLeaderError" ||
    error.name === "NotCommittedError" ||
    (error.name === "ProposalDroppedError" &&
      (error as { reason?: unknown }).reason === "leadership-transfer") ||
    (read && error.name === "LeadershipLostError");
  if (noLeader) return new NoLeaderError(error.message, { cause: error });
  switch (error.name) {
    case "ProposalTooLargeError":
      return new InvalidArgumentError("resource", error.message, { cause: error });
    case "LeadershipLostError":
    case "ProposalDroppedError":
    case "TimeoutError":
    case "ShutdownError":
    case "LeadershipTransferError":
      return new InconsistentError(error.message, { cause: error });
    default:
      return error;
  }
}

/**
 * A Handle for a Backend made before its engine (the Backend, its FSM and the engine refer to
 * each other): every call goes to the handle `current()` returns once the engine exists. Until
 * then the node neither leads nor serves, and any other call throws. Typed `Required<Handle>`,
 * so a method added to Handle cannot be left out here.
 */
export function lateBoundHandle(current: () => RaftHandle | undefined): Required<Handle> {
  const bound = (): RaftHandle => {
    const handle = current();
    if (handle === undefined) throw new Error("the Raft handle is used before the engine started");
    return handle;
  };
  return {
    apply: (msg, callOptions) => bound().apply(msg, callOptions),
    isLeader: () => current()?.isLeader() ?? false,
    servesLocally: () => current()?.servesLocally() ?? false,
    ensureStrongConsistency: (callOptions) => bound().ensureStrongConsistency(callOptions),
    dialLeader: () => bound().dialLeader(),
    awaitLeader: (waitOptions) => bound().awaitLeader(waitOptions),
  };
}

/** Creates the Handle through which the storage Backend reaches the engine. */
export function createRaftHandle(node: RaftNode, options: RaftHandleOptions): RaftHandle {
  let dialed: { leader: string; transport: ForwardingTransport } | undefined;
  const forget = () => {
    const old = dialed;
    dialed = undefined;
    // Let calls in flight on the old session fail or finish; nothing new goes there.
    void old?.transport.close();
  };
  return {
    async apply(msg, callOptions) {
      try {
        return await node.apply(msg, { signal: callOptions?.signal });
      } catch (error) {
        throw translate(error, callOptions);
      }
    },
    isLeader: () => node.state === "leader",
    // A follower's engine carries proposals (with forwardProposals) and read confirmations to
    // the leader itself.
    servesLocally: () =>
      node.state === "leader" ||
      (options.forwardProposals === true && node.state === "follower" && node.leader !== undefined),
    async ensureStrongConsistency(callOptions) {
      try {
        await node.readIndex({ signal: callOptions?.signal });
      } catch (error) {
        throw translate(error, callOptions, true);
      }
    },
    awaitLeader({ timeoutMs, signal }) {
      if (node.leader !== undefined) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (found: boolean) => {
          stopObserving();
          clearTimeout(timer);
          signal?.removeEventListener("abort", abort);
          resolve(found);
        };
        const abort = () => done(false);
        const stopObserving = node.observe((event) => {
          if (event.type === "leaderChange" && event.leader !== undefined) done(true);
        });
        const timer = setTimeout(abort, timeoutMs);
        if (signal?.aborted) abort();
        else signal?.addEventListener("abort", abort, { once: true });
      });
    },
    dialLeader(): Transport {
      const leader = node.leader;
      if (leader === undefined) throw new NoLeaderError("no leader is known right now; retry");
      if (leader === node.id) throw new NoLeaderError("this node became the leader; retry");
      if (dialed?.leader === leader) return dialed.transport.transport;
      forget();
      const baseUrl = options.urlOf(leader);
      if (baseUrl === undefined) {
        throw new InconsistentError(`the leader ${leader} has no known address`);
      }
      const transport = createForwardingTransport({ baseUrl, nodeOptions: options.http2Options });
      dialed = { leader, transport };
      return transport.transport;
    },
    leaderChanged: forget,
    close: forget,
  };
}
