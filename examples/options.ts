import { fn, Stub } from "stubrun";

const stub = new Stub("options-example");

type Mode = "fast" | "slow";

class Options {
  @stub.function()
  square(x: number): number {
    return x * x;
  }

  @stub.function()
  greet(name: string, loud: boolean): string {
    const greeting = `hello ${name}`;
    console.log(loud ? greeting.toUpperCase() : greeting);
    return greeting;
  }

  /**
   * Greets someone remotely and squares a number remotely.
   * @param n the number to square
   * @param name who to greet
   * @param loud shout the greeting
   * @param mode how to run
   * @param since only used to show a Date option
   */
  @stub.localEntrypoint()
  async main(n: number, name = "world", loud = false, mode: Mode = "fast", since?: Date) {
    await fn(this.greet).remote(name, loud);
    const squared = await fn(this.square).remote(n);
    console.log(`${n} squared is ${squared} (mode ${mode}${since ? `, since ${since.toISOString()}` : ""})`);
    return { n, squared };
  }
}
