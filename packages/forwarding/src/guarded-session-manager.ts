import type * as http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/**
 * An Http2SessionManager whose sessions always keep an "error" listener.
 *
 * connect-node 2.1.2 destroys a session with an error in a few situations (a GOAWAY while no
 * stream is open — which every graceful server shutdown sends —, a PING that timed out), but
 * Node emits that error only later, and by then the manager may have removed its own listener:
 * the late "error" event is then an uncaught exception that kills the process. The streams on
 * the session already failed with that error, so it is not news: it goes to `onSessionError`.
 * Use this class instead of Http2SessionManager for every long-lived client connection.
 */
export class GuardedSessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.Http2Session>();
  readonly #onSessionError: (error: Error) => void;

  constructor(
    url: ConstructorParameters<typeof Http2SessionManager>[0],
    pingOptions?: ConstructorParameters<typeof Http2SessionManager>[1],
    http2SessionOptions?: ConstructorParameters<typeof Http2SessionManager>[2],
    onSessionError: (error: Error) => void = () => {},
  ) {
    super(url, pingOptions, http2SessionOptions);
    this.#onSessionError = onSessionError;
  }

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session !== undefined && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      session.on("error", (error) => this.#onSessionError(error));
    }
    return stream;
  }
}
