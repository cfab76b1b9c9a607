import { fn, Stub } from "stubrun";

const stub = new Stub("example");

class Example {
  @stub.function()
  f() {
    console.log("Hello world!");
  }

  @stub.function()
  g() {
    console.log("Goodbye world!");
  }

  @stub.localEntrypoint()
  async main() {
    await fn(this.f).remote();
  }
}
