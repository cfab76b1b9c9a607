import { fn, Stub } from "stubrun";

// Every function of this stub may use 256 MiB unless it says otherwise.
const stub = new Stub("resources-example", { memory: 256 });

class Primes {
  /** CPU-bound: each worker counts for one core, so no more start than the machine has. */
  @stub.function({ cpu: 1, concurrencyLimit: 8 })
  count(below: number): number {
    let n = 0;
    for (let i = 2; i < below; i++) {
      let prime = true;
      for (let d = 2; d * d <= i; d++) if (i % d === 0) { prime = false; break; }
      if (prime) n++;
    }
    return n;
  }

  /** Goes past its memory: the worker is killed, and the call fails naming the limit. */
  @stub.function({ memory: 128 })
  hog(): number {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1_000_000).fill(1));
  }

  @stub.localEntrypoint()
  async main(limit = 100_000) {
    const limits = [limit / 4, limit / 2, limit];
    const counts: number[] = [];
    for await (const c of fn(this.count).map(limits)) counts.push(c);
    console.log(limits.map((l, i) => `primes below ${l}: ${counts[i]}`).join("\n"));
    try {
      await fn(this.hog).remote();
    } catch (error) {
      console.log(`hog failed: ${(error as Error).message}`);
    }
  }
}
