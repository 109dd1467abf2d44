/** A scheduled callback. */
export interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A discrete-event scheduler on virtual time: callbacks run in (time, scheduling order), one at
 * a time. Nothing here reads a real clock.
 */
export class Scheduler {
  now = 0;
  private seq = 0;
  private heap: ScheduledEvent[] = [];
  /** Events run so far. */
  executed = 0;

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `fn` at virtual time `time` (not before now). */
  at(time: number, fn: () => void): ScheduledEvent {
    const event: ScheduledEvent = {
      time: Math.max(time, this.now),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.push(event);
    return event;
  }

  after(delay: number, fn: () => void): ScheduledEvent {
    return this.at(this.now + Math.max(0, delay), fn);
  }

  cancel(event: ScheduledEvent): void {
    event.cancelled = true;
  }

  /** Runs the next event. Returns false when none is left. */
  step(): boolean {
    for (;;) {
      const event = this.pop();
      if (event === undefined) return false;
      if (event.cancelled) continue;
      this.now = event.time;
      this.executed++;
      event.fn();
      return true;
    }
  }

  /** The time of the next live event, if any. */
  peekTime(): number | undefined {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent).cancelled) this.pop();
    return this.heap[0]?.time;
  }

  private less(a: ScheduledEvent, b: ScheduledEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(event: ScheduledEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i] as ScheduledEvent, heap[parent] as ScheduledEvent)) break;
      [heap[i], heap[parent]] = [heap[parent] as ScheduledEvent, heap[i] as ScheduledEvent];
      i = parent;
    }
  }

  private pop(): ScheduledEvent | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0] as ScheduledEvent;
    const last = heap.pop() as ScheduledEvent;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (
          l < heap.length &&
          this.less(heap[l] as ScheduledEvent, heap[smallest] as ScheduledEvent)
        )
          smallest = l;
        if (
          r < heap.length &&
          this.less(heap[r] as ScheduledEvent, heap[smallest] as ScheduledEvent)
        )
          smallest = r;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest] as ScheduledEvent, heap[i] as ScheduledEvent];
        i = smallest;
      }
    }
    return top;
  }
}
