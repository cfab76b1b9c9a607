import { HeartbeatReaper } from "../src/transport/heartbeat-reaper";

/** A fake connection: records whether the reaper ended it. */
class FakeSocket {
  terminated = false;
  terminate(): void {
    this.terminated = true;
  }
}

function setup() {
  let now = 1_000_000;
  const clients = new Map<FakeSocket, { lastSeen: number }>();
  const stalls: number[] = [];
  const reaper = new HeartbeatReaper(clients, { timeoutMs: 8_000, intervalMs: 500, now: () => now, onStall: (ms) => stalls.push(ms) });
  const add = () => {
    const socket = new FakeSocket();
    clients.set(socket, { lastSeen: now });
    return socket;
  };
  /** Advances the clock by `ms` in ticks of the interval, ticking each time (an event loop that keeps up). */
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 500) {
      now += 500;
      reaper.tick();
    }
  };
  const stall = (ms: number) => {
    now += ms;
    return reaper.tick();
  };
  const heard = (socket: FakeSocket) => ((clients.get(socket) as { lastSeen: number }).lastSeen = now);
  return { run, stall, add, heard, stalls };
}

describe("HeartbeatReaper", () => {
  test("a client silent for longer than the timeout is given up; one that heartbeats is kept", () => {
    const { run, add, heard } = setup();
    const silent = add();
    const alive = add();
    for (let i = 0; i < 5; i++) {
      run(2_000);
      heard(alive);
    }
    expect(silent.terminated).toBe(true);
    expect(alive.terminated).toBe(false);
  });

  test("a 12 s stall of the event loop is nobody's silence: no client is dropped right after it", () => {
    const { run, stall, add, heard, stalls } = setup();
    const alive = add();
    run(1_500);
    expect(stall(12_000)).toBe(0); // the late tick judges no one
    expect(stalls).toEqual([11_500]);
    heard(alive); // its heartbeats, queued during the stall, are read next
    run(1_000);
    expect(alive.terminated).toBe(false);
  });

  test("the time before and after a stall still counts: a silent client goes once it was silent long enough while the server listened", () => {
    const { run, stall, add } = setup();
    const silent = add();
    run(3_000);
    stall(30_000);
    run(4_000);
    expect(silent.terminated).toBe(false); // 3 s + 4 s of silence heard
    run(1_500);
    expect(silent.terminated).toBe(true);
  });
});
