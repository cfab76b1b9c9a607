/** A client as the reaper sees it: when it was last heard from, and how to drop it. */
export interface HeartbeatClient {
  lastSeen: number;
}

/** A connection the reaper can end. */
export interface Terminable {
  terminate(): void;
}

export interface HeartbeatReaperOptions {
  /** Silence after which a client is given up. */
  timeoutMs: number;
  /** How often the check runs. @default 500 */
  intervalMs?: number;
  /** The clock (tests replace it). @default Date.now */
  now?: () => number;
  /** Told of each stall: how long the check ran late, in ms. */
  onStall?: (lateMs: number) => void;
}

/**
 * Gives up clients that stopped heartbeating, so their ephemeral apps stop. Silence is counted
 * only while the server could listen: when the event loop stalled (one huge message, a slow
 * disk), this check runs late, and the heartbeats that arrived meanwhile are still unread in the
 * sockets. So a late tick counts its lateness as nobody's silence and judges no one; the next
 * tick, after those heartbeats are read, does.
 */
export class HeartbeatReaper {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastTick: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clients: ReadonlyMap<Terminable, HeartbeatClient>,
    private readonly options: HeartbeatReaperOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.now = options.now ?? Date.now;
    this.lastTick = this.now();
  }

  start(): this {
    this.lastTick = this.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One check; returns how many clients it gave up. */
  tick(): number {
    const now = this.now();
    const late = now - this.lastTick - this.intervalMs;
    this.lastTick = now;
    if (late > 0) {
      for (const client of this.clients.values()) client.lastSeen = Math.min(now, client.lastSeen + late);
    }
    if (late > this.intervalMs) {
      this.options.onStall?.(late);
      return 0; // a stall: heartbeats that came meanwhile are read after this turn
    }
    const deadline = now - this.options.timeoutMs;
    let dropped = 0;
    for (const [connection, client] of this.clients) {
      if (client.lastSeen < deadline) {
        connection.terminate();
        dropped++;
      }
    }
    return dropped;
  }
}
