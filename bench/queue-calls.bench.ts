import { fn, Stub } from "stubrun";

const stub = new Stub("queue-bench");

class QueueBench {
  @stub.function({ concurrencyLimit: 64 })
  async sleepy(ms: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }

  @stub.function({ concurrencyLimit: 64 })
  echo(x: number): number {
    return x;
  }

  /**
   * Prints one JSON line: calls/s of a .map of `n` calls of `what` (sleepy sleeps 100 ms), once
   * `warm` calls at once started its workers (as many as it will use: throughput is measured,
   * not cold starts, which have their own figure).
   */
  @stub.localEntrypoint()
  async main(what = "echo", n = 20000, warm = 1) {
    const f = what === "sleepy" ? fn(this.sleepy) : fn(this.echo);
    const input = what === "sleepy" ? 100 : 1;
    const inputs = Array.from({ length: n }, () => input);
    await Promise.all(Array.from({ length: warm }, () => f.remote(input)));
    const start = process.hrtime.bigint();
    let done = 0;
    for await (const _ of f.map(inputs)) done++;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(JSON.stringify({ what, n: done, callsPerSecond: done / seconds }));
  }
}
