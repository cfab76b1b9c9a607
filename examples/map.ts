import { fn, Stub } from "stubrun";

const stub = new Stub("map-example");

class Squares {
  @stub.function()
  square(x: number): number {
    return x * x;
  }

  @stub.function()
  add(a: number, b: number): number {
    return a + b;
  }

  /** Squares 1..count in parallel across workers, then sums pairs with starmap. */
  @stub.localEntrypoint()
  async main(count = 10) {
    const inputs = Array.from({ length: count }, (_, i) => i + 1);
    const squares: number[] = [];
    for await (const y of fn(this.square).map(inputs)) squares.push(y);
    console.log(`squares: ${squares.join(" ")}`);

    const sums: number[] = [];
    for await (const s of fn(this.add).starmap(inputs.map((x) => [x, 100] as [number, number]))) sums.push(s);
    console.log(`sums: ${sums.join(" ")}`);
    return squares.reduce((a, b) => a + b, 0);
  }
}
