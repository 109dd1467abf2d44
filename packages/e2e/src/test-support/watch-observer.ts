import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GuardedSessionManager } from "@raftstore/forwarding";
import { ResourceService, type Type } from "@raftstore/proto";
import { type Probe, sleep, waitFor } from "../wait.js";
import { valueKey } from "./register-values.js";
import { serverCode } from "./server-code.js";

/** A resource as a watch showed it: its key (name), version and unique value. */
export interface Seen {
  key: string;
  version: string;
  value: string | undefined;
}

/** One WatchList stream, from its opening to its end. */
export interface WatchSession {
  node: string;
  /** The initial state, before end_of_snapshot, by key. */
  snapshot: Map<string, Seen>;
  endOfSnapshot: boolean;
  /** Every event after end_of_snapshot, in order. */
  changes: Array<Seen & { kind: "upsert" | "delete" }>;
  /** How it ended: Aborted (a restore invalidated it: re-list), another error, or closed by us. */
  end?: { how: "aborted" | "error" | "closed"; message: string };
}

/**
 * Watches one type through one node for the whole test, and re-lists (opens a new WatchList,
 * which starts with a fresh snapshot) whenever a stream ends: at once after Aborted, and after
 * a short pause after any other error (the node is down or paused). Every stream is kept as a
 * session for `checkWatchSessions`.
 */
export class WatchObserver {
  readonly node: string;
  readonly sessions: WatchSession[] = [];
  readonly #client: Client<typeof ResourceService>;
  readonly #session: GuardedSessionManager;
  readonly #type: Type;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(node: string, url: string, type: Type) {
    this.node = node;
    this.#type = type;
    this.#session = new GuardedSessionManager(url);
    this.#client = createClient(
      ResourceService,
      createGrpcTransport({ baseUrl: url, sessionManager: this.#session }),
    );
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** The newest session, once it has delivered its snapshot. */
  async listed(): Promise<WatchSession> {
    return waitFor(`a watch through ${this.node} to deliver its snapshot`, async () => {
      const last = this.sessions.at(-1);
      return last?.endOfSnapshot && last.end === undefined
        ? { done: true, value: last }
        : { done: false, seen: `${this.sessions.length} sessions` };
    });
  }

  /** The state the newest session shows: its snapshot with its changes applied. */
  state(): Map<string, Seen> {
    const last = this.sessions.at(-1);
    const state = new Map(last?.snapshot ?? []);
    for (const change of last?.changes ?? []) {
      if (change.kind === "delete") state.delete(change.key);
      else state.set(change.key, change);
    }
    return state;
  }

  /** Waits until the newest session shows `expected` (version per key). */
  async waitForState(expected: ReadonlyMap<string, string>, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `the watch through ${this.node} to show the final state`,
      async (): Promise<Probe<void>> => {
        const state = this.state();
        const behind = [...expected].filter(
          ([key, version]) => state.get(key)?.version !== version,
        );
        return behind.length === 0
          ? { done: true, value: undefined }
          : {
              done: false,
              seen: behind
                .map(([key, version]) => `${key} at ${state.get(key)?.version}, not ${version}`)
                .join("; "),
            };
      },
      { timeoutMs },
    );
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#session.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const session: WatchSession = {
        node: this.node,
        snapshot: new Map(),
        endOfSnapshot: false,
        changes: [],
      };
      this.sessions.push(session);
      try {
        const stream = this.#client.watchList(
          { type: this.#type, tenancy: { partition: "default", namespace: "default" } },
          { signal },
        );
        for await (const response of stream) {
          const event = response.event?.event;
          if (event?.case === "endOfSnapshot") {
            session.endOfSnapshot = true;
            continue;
          }
          if (event?.case !== "upsert" && event?.case !== "delete") continue;
          const resource = event.value.resource;
          const seen: Seen = {
            key: resource?.id?.name ?? "",
            version: resource?.version ?? "",
            value: resource?.metadata[valueKey],
          };
          if (!session.endOfSnapshot) session.snapshot.set(seen.key, seen);
          else session.changes.push({ ...seen, kind: event.case });
        }
        session.end = { how: "error", message: "the stream ended without an error" };
      } catch (error) {
        const ce = ConnectError.from(error);
        if (signal.aborted) {
          session.end = { how: "closed", message: "closed by the test" };
          break;
        }
        session.end = {
          how: serverCode(error) === Code.Aborted ? "aborted" : "error",
          message: ce.message,
        };
      }
      // A stream that failed before its first event (the node is down) tells nothing.
      if (session.end?.how === "error" && session.snapshot.size === 0 && !session.endOfSnapshot) {
        this.sessions.pop();
      }
      if (session.end?.how !== "aborted") await sleep(100, signal).catch(() => undefined);
    }
  }
}
