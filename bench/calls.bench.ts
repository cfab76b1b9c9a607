import { fn, Stub } from "stubrun";

const stub = new Stub("bench");

class Bench {
  @stub.function()
  echo(x: number): number {
    return x;
  }

  @stub.function()
  cold(x: number): number {
    return x;
  }

  /** Prints one JSON line of figures: warm round trips, a cold start, and map throughput. */
  @stub.localEntrypoint()
  async main(roundTrips = 2000, mapSize = 20000) {
    const echo = fn(this.echo);
    await echo.remote(0); // start the worker
    const times: number[] = [];
    for (let i = 0; i < roundTrips; i++) {
      const start = process.hrtime.bigint();
      await echo.remote(i);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)];
    const p99 = times[Math.floor(times.length * 0.99)];

    const coldStart = process.hrtime.bigint();
    await fn(this.cold).remote(1);
    const coldMs = Number(process.hrtime.bigint() - coldStart) / 1e6;

    const inputs = Array.from({ length: mapSize }, (_, i) => i);
    const mapStart = process.hrtime.bigint();
    let n = 0;
    for await (const _ of echo.map(inputs)) n++;
    const mapSeconds = Number(process.hrtime.bigint() - mapStart) / 1e9;
    console.log(JSON.stringify({ p50, p99, coldMs, workerReadyMs: coldMs - p50, mapCallsPerSecond: n / mapSeconds }));
  }
}
