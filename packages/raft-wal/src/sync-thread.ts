import { getSystemErrorMap } from "node:util";
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";

// The log's appends are a write followed by an fdatasync. Through node:fs each of them is one trip
// to libuv's thread pool and back, and on this kind of machine each trip costs about as much as a
// third of the fdatasync itself. A SyncThread is one worker thread that does both system calls
// in one trip: the event loop copies the bytes into shared memory, wakes the thread with
// Atomics.notify, and waits with Atomics.waitAsync, so the event loop is never blocked, not even
// by a disk that stalls for seconds.
//
// The protocol lives in one Int32Array over a SharedArrayBuffer. The event loop writes a job's
// fields, then stores its operation into `op` and notifies; the thread waits on `op`, does the job,
// clears `op`, stores the outcome into `done` and notifies; the event loop waits until `done` is
// no longer pending (a wake-up alone is no answer: it may be the late notify of the job before).
// A failed job's errno and system call go into the shared memory too, before `done`, so they
// reach the event loop even when the message with the thread's own error does not (a port torn
// down). Jobs run one at a time. Bytes go through a shared staging buffer of at most STAGING_MAX bytes; a larger
// write goes as several write-only jobs and then one write-and-sync job (a crash in between is a
// torn write, which the log's recovery already handles).

const OP = 0;
const DONE = 1;
const FD = 2;
const LENGTH = 3;
const NEW_STAGING = 4;
/** Set to 1 by the thread once it runs, before it takes any job. */
const READY = 5;
/** Float64 slot (byte offset 24) holding the file position. */
const POSITION_F64 = 3;
/** A failed job's errno (negative, as node:fs reports it), or 0 if its error had none. */
const ERRNO = 8;
/** Which call of a failed job failed: one of SYSCALLS' indexes. */
const SYSCALL = 9;
const CONTROL_BYTES = 40;

const SYSCALLS = ["write", "fdatasync"] as const;

const OP_IDLE = 0;
const OP_WRITE = 1;
const OP_WRITE_AND_SYNC = 2;
const OP_STOP = 3;

const DONE_PENDING = 0;
const DONE_OK = 1;
const DONE_FAILED = 2;
/** Set by the event loop itself when the thread died: nothing will ever answer. */
const DONE_LOST = 3;

/** Atomics.waitAsync (ES2024, in Node since 16), which the TypeScript lib we target lacks. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

const STAGING_MIN = 64 * 1024;
const STAGING_MAX = 1024 * 1024;

// CommonJS, run with `eval: true`: the source needs no file of its own, so it works the same from
// the built package and from the TypeScript sources the tests run.
const threadSource = `
const { receiveMessageOnPort, workerData } = require("node:worker_threads");
const { writeSync, fdatasyncSync } = require("node:fs");
const { control, port } = workerData;
const ints = new Int32Array(control);
const floats = new Float64Array(control);
let staging = new Uint8Array(workerData.staging);
Atomics.store(ints, ${READY}, 1);
for (;;) {
  Atomics.wait(ints, ${OP}, ${OP_IDLE});
  const op = Atomics.load(ints, ${OP});
  if (op === ${OP_IDLE}) continue;
  if (op === ${OP_STOP}) break;
  if (Atomics.load(ints, ${NEW_STAGING}) === 1) {
    staging = new Uint8Array(receiveMessageOnPort(port).message);
    Atomics.store(ints, ${NEW_STAGING}, 0);
  }
  const fd = ints[${FD}];
  const length = ints[${LENGTH}];
  const position = floats[${POSITION_F64}];
  let outcome = ${DONE_OK};
  let syscall = 0;
  try {
    let done = 0;
    // write(2) may write less than asked; keep going until all is written or it fails.
    while (done < length) done += writeSync(fd, staging, done, length - done, position + done);
    if (op === ${OP_WRITE_AND_SYNC}) {
      syscall = 1;
      fdatasyncSync(fd);
    }
  } catch (error) {
    outcome = ${DONE_FAILED};
    const errno = error && error.errno;
    ints[${ERRNO}] = Number.isInteger(errno) ? errno : 0;
    ints[${SYSCALL}] = syscall;
    port.postMessage({
      message: String(error && error.message),
      code: error && error.code,
      errno,
      syscall: (error && error.syscall) || ${JSON.stringify(SYSCALLS)}[syscall],
    });
  }
  Atomics.store(ints, ${OP}, ${OP_IDLE});
  Atomics.store(ints, ${DONE}, outcome);
  Atomics.notify(ints, ${DONE});
}
`;

/**
 * The thread died before it ran at all (a preload that refuses worker threads, a failed start):
 * no job was done, so the caller can safely do the work another way.
 */
export class SyncThreadUnavailableError extends Error {
  override readonly name = "SyncThreadUnavailableError";
}

interface ThreadError {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall: string;
}

/**
 * A worker thread that writes and fdatasyncs for the event loop, one job at a time. It does not
 * keep the process alive while idle; `stop()` ends it.
 */
export class SyncThread {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #ints: Int32Array;
  readonly #floats: Float64Array;
  #staging: Uint8Array;
  /** The end of the chain of jobs: each job starts when the one before it settled. */
  #tail: Promise<void> = Promise.resolve();
  /** Jobs asked for and not yet settled (their settling decrements it). */
  #jobs = 0;
  #lost: Error | undefined;
  #stopped = false;
  /** Settles once the thread runs, or once it failed to. */
  readonly ready: Promise<void>;

  constructor() {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const staging = new SharedArrayBuffer(STAGING_MIN);
    const { port1, port2 } = new MessageChannel();
    this.#ints = new Int32Array(control);
    this.#floats = new Float64Array(control);
    this.#staging = new Uint8Array(staging);
    this.#port = port1;
    this.#worker = new Worker(threadSource, {
      eval: true,
      // The thread runs plain CommonJS and needs none of the process's flags (a loader, a
      // module type), which could only stop it from starting.
      execArgv: [],
      // Nor the environment: NODE_OPTIONS (a preload, say) would apply to the thread too.
      env: {},
      workerData: { control, staging, port: port2 },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    this.#worker.unref();
    const lose = (error: Error) => {
      this.#lost ??= error;
      // Wake a job that waits: the thread that would have answered is gone.
      Atomics.store(this.#ints, DONE, DONE_LOST);
      Atomics.notify(this.#ints, DONE);
    };
    const worker = this.#worker;
    this.ready = new Promise<void>((resolve) => {
      worker.once("online", resolve);
      worker.once("error", () => resolve());
      worker.once("exit", () => resolve());
    });
    worker.on("error", (error) => lose(error));
    worker.on("exit", (code) => {
      if (!this.#stopped) lose(new Error(`the sync thread exited with code ${code}`));
    });
  }

  /** Whether the thread has started running (it may have died since). */
  get running(): boolean {
    return Atomics.load(this.#ints, READY) === 1;
  }

  /** Whether the thread died before it ran: nothing it was asked to do was done. */
  get unavailable(): boolean {
    return this.#lost !== undefined && !this.running;
  }

  /**
   * Writes all of `data` at `position` of the open file `fd`, then fdatasyncs it. Rejects with the
   * system call's error (its `code` and `syscall`, "write" or "fdatasync", as node:fs sets them).
   * The caller must keep `fd` open, and `data` unchanged, until the promise settles.
   */
  writeAndSync(fd: number, data: Uint8Array, position: number): Promise<void> {
    // An idle thread gets the job now, not a microtask later: by then the callers that the last
    // job's completion woke (a group commit's worth) would all run first, and the disk would
    // wait for them.
    const job =
      this.#jobs === 0
        ? this.#run(fd, data, position)
        : this.#tail.then(() => this.#run(fd, data, position));
    this.#jobs++;
    this.#tail = job.then(
      () => {
        this.#jobs--;
      },
      () => {
        this.#jobs--;
      },
    );
    return job;
  }

  /** Ends the thread once the jobs already asked for are done. */
  async stop(): Promise<void> {
    await this.#tail;
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#lost === undefined) {
      Atomics.store(this.#ints, OP, OP_STOP);
      Atomics.notify(this.#ints, OP);
    }
    await this.#worker.terminate();
    this.#port.close();
  }

  /** @internal For tests: ends the thread as a crash of it would. */
  crash(): Promise<number> {
    return this.#worker.terminate();
  }

  async #run(fd: number, data: Uint8Array, position: number): Promise<void> {
    if (this.#stopped) throw new Error("the sync thread is stopped");
    let offset = 0;
    // Always at least one job, so that an empty write still syncs.
    do {
      const length = Math.min(STAGING_MAX, data.byteLength - offset);
      const last = offset + length === data.byteLength;
      await this.#job(
        last ? OP_WRITE_AND_SYNC : OP_WRITE,
        fd,
        data.subarray(offset, offset + length),
        position + offset,
      );
      offset += length;
    } while (offset < data.byteLength);
  }

  async #job(op: number, fd: number, chunk: Uint8Array, position: number): Promise<void> {
    if (this.#lost !== undefined) throw this.#lostError();
    const ints = this.#ints;
    this.#stage(chunk);
    ints[FD] = fd;
    ints[LENGTH] = chunk.byteLength;
    this.#floats[POSITION_F64] = position;
    Atomics.store(ints, DONE, DONE_PENDING);
    // A thread that is waiting for us must keep the process alive.
    this.#worker.ref();
    try {
      Atomics.store(ints, OP, op);
      Atomics.notify(ints, OP);
      // A wake-up is not an answer: the thread stores the last job's outcome and notifies in two
      // steps, and when this side saw that outcome before the notify came (without waiting),
      // the late notify wakes this job's wait instead, while `done` is still pending. Read as a
      // failure, that stopped a node under load ("its error did not reach the event loop").
      while (Atomics.load(ints, DONE) === DONE_PENDING) {
        const wait = waitAsync(ints, DONE, DONE_PENDING);
        if (wait.async) await wait.value;
      }
    } finally {
      this.#worker.unref();
    }
    const outcome = Atomics.load(ints, DONE);
    if (outcome === DONE_OK) return;
    if (outcome === DONE_LOST) throw this.#lostError();
    const reply = receiveMessageOnPort(this.#port)?.message as ThreadError | undefined;
    throw toNodeError(reply ?? failureFromSharedMemory(ints[ERRNO] ?? 0, ints[SYSCALL] ?? 0));
  }

  /** @internal For tests: wakes a waiting job as the thread's late notify of the last job would. */
  wakeSpuriously(): void {
    Atomics.notify(this.#ints, DONE);
  }

  /** @internal For tests: loses the thread's messages to the event loop, as a torn-down port would. */
  loseMessages(): void {
    this.#port.close();
  }

  #lostError(): Error {
    const lost = this.#lost as Error;
    return this.unavailable
      ? new SyncThreadUnavailableError(`the sync thread did not start: ${lost.message}`, {
          cause: lost,
        })
      : lost;
  }

  /** Copies `chunk` into the staging buffer, first replacing the buffer if it is too small. */
  #stage(chunk: Uint8Array): void {
    if (chunk.byteLength <= this.#staging.byteLength) {
      this.#staging.set(chunk);
      return;
    }
    let size = this.#staging.byteLength;
    while (size < chunk.byteLength) size *= 2;
    const staging = new Uint8Array(new SharedArrayBuffer(Math.min(size, STAGING_MAX)));
    // Filled before the thread hears of it, so that nothing after the message can fail and
    // leave the two sides with different buffers.
    staging.set(chunk);
    this.#staging = staging;
    this.#port.postMessage(staging.buffer);
    Atomics.store(this.#ints, NEW_STAGING, 1);
  }
}

/**
 * A failed job's error from what the thread left in shared memory, worded as node:fs words it
 * ("ENOSPC: no space left on device, write"): the fallback when its message did not arrive.
 */
export function failureFromSharedMemory(errno: number, syscallIndex: number): ThreadError {
  const syscall = SYSCALLS[syscallIndex] ?? "write";
  const known = getSystemErrorMap().get(errno);
  if (known === undefined) {
    return {
      message: `the sync thread's ${syscall} failed, and its error did not reach the event loop`,
      syscall,
    };
  }
  const [code, description] = known;
  return { message: `${code}: ${description}, ${syscall}`, code, errno, syscall };
}

function toNodeError(reply: ThreadError): Error {
  return Object.assign(new Error(reply.message), {
    code: reply.code,
    errno: reply.errno,
    syscall: reply.syscall,
  });
}
