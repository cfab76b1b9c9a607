import { fn, Stub } from "stubrun";

const stub = new Stub("bench-generator");

class GeneratorBench {
  @stub.function()
  echo(x: number): number {
    return x;
  }

  /** Prints one JSON line: a .map over `n` inputs read from an async generator, and this process's peak resident memory. */
  @stub.localEntrypoint()
  async main(n = 1_000_000) {
    let read = 0;
    async function* inputs(): AsyncGenerator<number> {
      for (let i = 0; i < n; i++) {
        read++;
        yield i;
      }
    }
    const start = process.hrtime.bigint();
    let results = 0;
    let readAtFirstResult = -1;
    for await (const _ of fn(this.echo).map(inputs())) {
      if (results++ === 0) readAtFirstResult = read;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const clientPeakMb = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ n: results, seconds, callsPerSecond: results / seconds, readAtFirstResult, clientPeakMb }));
  }
}
