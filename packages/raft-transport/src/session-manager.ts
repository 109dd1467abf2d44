import type * as http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";
import type { Logger, NodeId } from "@raftstore/raft";

/**
 * An Http2SessionManager whose sessions always have an "error" listener.
 *
 * connect-node 2.1.2 destroys a session whose PING timed out with an error, but Node emits that
 * error on the session only later, once the socket has closed; if the manager changed state in
 * between (a new request, a reconnect, `abort()`), it has already removed its listener, and the
 * late "error" event crashes the process as an uncaught exception. The error is not news (the
 * streams on the session failed with it and the manager moved on), so it is logged at debug
 * level here, on every session that ever carried one of our streams.
 */
export class GuardedSessionManager extends Http2SessionManager {
  private readonly guarded = new WeakSet<http2.Http2Session>();
  private readonly peer: NodeId;
  private readonly logger: Logger;

  constructor(
    peer: NodeId,
    logger: Logger,
    ...args: ConstructorParameters<typeof Http2SessionManager>
  ) {
    super(...args);
    this.peer = peer;
    this.logger = logger;
  }

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session !== undefined && !this.guarded.has(session)) {
      this.guarded.add(session);
      session.on("error", (error) =>
        this.logger.debug(
          { peer: this.peer, err: error },
          "raft transport: connection to peer ended with an error",
        ),
      );
    }
    return stream;
  }
}
