import type { ID, Resource, Tenancy } from "@raftstore/proto";
import type { CallOptions, ReadConsistency, UnversionedType } from "@raftstore/storage";
import type { ForwardingTarget } from "../routes.js";

/** A target whose every operation rejects with `error`. */
export function failingTarget(error: unknown): ForwardingTarget {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return { writeCAS: fail, deleteCAS: fail, read: fail, list: fail };
}

/** One call a HangingTarget received, pending until its signal aborts. */
export interface HangingCall {
  method: keyof ForwardingTarget;
  /** The signal the forwarding service passed to the target. */
  signal: AbortSignal | undefined;
  /** Resolves once that signal aborted: the follower gave up or the connection died. */
  aborted: Promise<void>;
}

/**
 * A target whose operations never answer: they reject only when the call's signal aborts, as
 * a leader stuck on a lost quorum would. `calls` reports each call as it arrives.
 */
export class HangingTarget implements ForwardingTarget {
  readonly #arrivals: Array<(call: HangingCall) => void> = [];
  readonly #arrived: HangingCall[] = [];

  /** The next call to arrive (or the oldest one not yet taken). */
  nextCall(): Promise<HangingCall> {
    const call = this.#arrived.shift();
    if (call !== undefined) return Promise.resolve(call);
    return new Promise((resolve) => this.#arrivals.push(resolve));
  }

  /** The oldest call that arrived and was not taken yet, without waiting. */
  takeArrived(): HangingCall | undefined {
    return this.#arrived.shift();
  }

  writeCAS(_resource: Resource, options?: CallOptions): Promise<Resource> {
    return this.#hang("writeCAS", options);
  }
  deleteCAS(_id: ID, _version: string, options?: CallOptions): Promise<void> {
    return this.#hang("deleteCAS", options);
  }
  read(_consistency: ReadConsistency, _id: ID, options?: CallOptions): Promise<Resource> {
    return this.#hang("read", options);
  }
  list(
    _consistency: ReadConsistency,
    _type: UnversionedType,
    _tenancy: Tenancy,
    _namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]> {
    return this.#hang("list", options);
  }

  #hang<T>(method: keyof ForwardingTarget, options?: CallOptions): Promise<T> {
    const signal = options?.signal;
    let onAbort: () => void = () => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
    });
    const result = new Promise<T>((_, reject) => {
      signal?.addEventListener(
        "abort",
        () => {
          onAbort();
          reject(signal.reason);
        },
        { once: true },
      );
    });
    const call: HangingCall = { method, signal, aborted };
    const waiting = this.#arrivals.shift();
    if (waiting !== undefined) waiting(call);
    else this.#arrived.push(call);
    return result;
  }
}
