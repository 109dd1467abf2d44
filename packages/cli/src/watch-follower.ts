import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Resource,
  type WatchEvent,
  WatchEventSchema,
  type WatchListRequest,
  type WatchListResponse,
} from "@raftstore/proto";
import { resourceKey } from "@raftstore/storage";

/** What `followWatch` needs of a ResourceService client. */
export interface WatchSource {
  watchList(
    request: WatchListRequest,
    options: { signal: AbortSignal },
  ): AsyncIterable<WatchListResponse>;
}

export interface FollowOptions {
  /**
   * Re-open the watch when the server resets it (Aborted: a snapshot restore replaced the data)
   * or the connection is lost (Unavailable, or Canceled by the node: its stream was reset), and
   * turn the new snapshot into the changes since what was last emitted. Without it, those end
   * the watch with their error.
   */
  follow: boolean;
  /** Ends the watch normally (Ctrl-C). */
  signal: AbortSignal;
  /** Says on stderr what happens: a reset, a reconnection. */
  notice(message: string): void;
  /** Waits before reconnecting after a lost connection; rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * Runs before a watch is re-opened after a lost connection: picks the node to re-open it on
   * and makes sure that node has caught up with everything the lost one could have shown, so
   * that its snapshot never takes the consumer back to older versions. Resolves with what to
   * name the node in the notice; rejects (Unavailable: tried again after a pause) when it
   * cannot. Absent: the watch is re-opened on the same source at once.
   */
  catchUp?(signal: AbortSignal): Promise<string>;
}

const reconnectDelaysMs = [250, 500, 1000, 2000, 5000];

function keyOf(resource: Resource | undefined): string | undefined {
  return resource?.id?.type === undefined || resource.id.tenancy === undefined
    ? undefined
    : resourceKey(resource.id);
}

function event(kind: "upsert" | "delete", resource: Resource): WatchEvent {
  return create(WatchEventSchema, { event: { case: kind, value: { resource } } });
}

/**
 * Streams a WatchList to `emit`: the current set as upserts, one end_of_snapshot, then every
 * change. With `follow`, a reset or a lost connection is invisible in the output: the watch is
 * re-opened, and its new snapshot is compared with the resources emitted so far, so that the
 * consumer gets exactly the changes it missed (an upsert for each new or changed resource, a
 * delete for each one that is gone) and no second end_of_snapshot: the informer pattern of
 * Kubernetes clients, which is what a consumer of a reset watch has to do anyway.
 *
 * Resolves when `signal` aborts; rejects with the server's error otherwise.
 */
export async function followWatch(
  source: WatchSource,
  request: WatchListRequest,
  emit: (event: WatchEvent) => void,
  options: FollowOptions,
): Promise<void> {
  const { signal } = options;
  // What the consumer has been told exists: only kept with --follow, where a re-list needs it.
  const known = new Map<string, Resource>();
  let resyncing = false;
  let reconnecting = false;
  let failures = 0;
  // A watch that fails during its first snapshot still owes the consumer its end_of_snapshot.
  let snapshotEnded = false;
  const track = (e: WatchEvent) => {
    if (!options.follow) return;
    if (e.event.case === "upsert" || e.event.case === "delete") {
      const key = keyOf(e.event.value.resource);
      if (key === undefined) return;
      if (e.event.case === "upsert" && e.event.value.resource !== undefined) {
        known.set(key, e.event.value.resource);
      } else {
        known.delete(key);
      }
    }
  };

  for (;;) {
    // A fresh snapshot after a reset, collected until its end, then emitted as a difference.
    const snapshot = new Map<string, Resource>();
    let inSnapshot = resyncing;
    try {
      if (reconnecting && options.catchUp !== undefined) {
        const node = await options.catchUp(signal);
        options.notice(`re-opening the watch on ${node}`);
      }
      reconnecting = false;
      for await (const response of source.watchList(request, { signal })) {
        const e = response.event;
        if (e === undefined) continue;
        failures = 0;
        if (!inSnapshot) {
          if (e.event.case === "endOfSnapshot") snapshotEnded = true;
          track(e);
          emit(e);
          continue;
        }
        if (e.event.case === "upsert" && e.event.value.resource !== undefined) {
          const key = keyOf(e.event.value.resource);
          if (key !== undefined) snapshot.set(key, e.event.value.resource);
        } else if (e.event.case === "endOfSnapshot") {
          let changed = 0;
          let deleted = 0;
          for (const [key, resource] of known) {
            if (!snapshot.has(key)) {
              known.delete(key);
              emit(event("delete", resource));
              deleted++;
            }
          }
          for (const [key, resource] of snapshot) {
            if (known.get(key)?.version !== resource.version) {
              known.set(key, resource);
              emit(event("upsert", resource));
              changed++;
            }
          }
          if (!snapshotEnded) {
            emit(create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } }));
            snapshotEnded = true;
          }
          inSnapshot = false;
          resyncing = false;
          options.notice(`watch re-opened: ${changed} changed or new, ${deleted} deleted since`);
        }
      }
      if (signal.aborted) return;
      throw new ConnectError("the node ended the watch", Code.Unavailable);
    } catch (error) {
      if (signal.aborted) return;
      const rpcError = ConnectError.from(error);
      if (!options.follow) throw rpcError;
      if (rpcError.code === Code.Aborted) {
        options.notice(`the watch was reset (${rpcError.rawMessage}); re-listing`);
      } else if (rpcError.code === Code.Unavailable || rpcError.code === Code.Canceled) {
        // Canceled without our signal: the node reset the stream (it died, or is stopping).
        reconnecting = true;
        const delay = reconnectDelaysMs[Math.min(failures, reconnectDelaysMs.length - 1)] ?? 5000;
        failures++;
        options.notice(
          `the watch was interrupted (${rpcError.rawMessage}); re-opening in ${delay}ms`,
        );
        try {
          await options.sleep(delay, signal);
        } catch (sleepError) {
          if (signal.aborted) return;
          throw sleepError;
        }
      } else {
        throw rpcError;
      }
      resyncing = true;
    }
  }
}
