/** The most messages one IPC write carries: a batch stays a modest string, however deep the queue. */
export const MAX_MESSAGES_PER_IPC_WRITE = 512;

/**
 * Batches the messages of one event-loop turn into one write on a worker's IPC channel (as
 * `FrameBatcher` does on the WebSocket): one message goes as itself, several as an array, which
 * the other side reads with `ipcMessages`. Node writes each `send` with a system call of its own;
 * a `.map()` of trivial calls sends thousands a second, so this is where its time went.
 */
export class IpcBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(
    /** Writes one payload (Node's `send`); throws when JSON cannot write it. */
    private readonly write: (payload: M | M[]) => void,
    /** A message JSON could not write (nested too deep): the rest of its batch still went. */
    private readonly unsendable: (message: M, error: Error) => void,
  ) {}

  push(message: M): void {
    this.pending.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is pending now (before the process leaves, or when the order with another channel matters). */
  flush(): void {
    this.scheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.length <= MAX_MESSAGES_PER_IPC_WRITE ? this.pending : this.pending.slice(0, MAX_MESSAGES_PER_IPC_WRITE);
      this.pending = batch === this.pending ? [] : this.pending.slice(batch.length);
      try {
        this.write(batch.length === 1 ? batch[0] : batch);
      } catch (error) {
        // One of them cannot be written: each on its own, so only that one is lost.
        for (const message of batch) {
          try {
            this.write(message);
          } catch (own) {
            this.unsendable(message, own instanceof Error ? own : new Error(String(own)));
          }
        }
        void error;
      }
    }
  }
}

/** The messages of one IPC payload: a batch (an array) or one message. */
export function ipcMessages(payload: unknown): unknown[] {
  return Array.isArray(payload) ? payload : [payload];
}
